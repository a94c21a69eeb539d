import { describe, expect, it } from 'vitest';
import {
  eventKey,
  mediaKey,
  orderKeyFromMillis,
  roomKey,
  sourceKey,
  userKey,
  type EventBase,
  type EventKey,
  type FileEvent,
  type MediaRecord,
  type MessageEvent,
  type RoomRecord,
  type RoomStateChange,
  type SourceText,
  type TimelineEvent,
} from '../../src/model/index.js';
import { MAX_CONTENT_BYTES, splitJsonText } from '../../src/matrix/content-size.js';
import {
  eventToMatrix,
  linkedEventIds,
  matrixToEventIds,
  ORPHAN_REPLY_PREFIX,
  PROVENANCE_KEY,
  type ContentContext,
  type ContentOutcome,
  type MatrixSend,
  type MigratedEvent,
} from '../../src/matrix/event-content.js';

// ---------------------------------------------------------------------------------------------
// Fixtures

const SOURCE = sourceKey('slack:T1');
const ROOM = roomKey('slack:C1');
const ADA = userKey('slack:U1');
const BOT = userKey('slack:B1');

const ROOT = eventKey('slack:C1:1700000000.000100');
const LATEST = eventKey('slack:C1:1700000000.000200');
const QUOTED = eventKey('slack:C1:1700000000.000300');
const MISSING = eventKey('slack:C1:1600000000.000000');

const SENT = new Map<EventKey, string>([
  [ROOT, '$root'],
  [LATEST, '$latest'],
  [QUOTED, '$quoted'],
]);

/** Old homeserver event ID → where ferry migrated it. */
const MIGRATED = new Map<string, MigratedEvent>([
  ['$abc', { roomId: '!new:new.example', eventId: '$NEW1' }],
  ['$v1:old.example', { roomId: '!other:new.example', eventId: '$NEW2' }],
]);

const baseRoom: RoomRecord = {
  key: ROOM,
  source: SOURCE,
  nativeId: 'C1',
  kind: 'channel',
  name: 'general',
  isArchived: false,
  isGeneral: false,
  members: [],
};

const MEDIA: Record<string, { record: MediaRecord; mxc?: string }> = {};
function addMedia(id: string, record: Partial<MediaRecord>, mxc?: string) {
  const key = mediaKey(`slack:${id}`);
  MEDIA[key] = {
    record: { key, source: SOURCE, nativeId: id, availability: 'available', ...record },
    ...(mxc === undefined ? {} : { mxc }),
  };
  return key;
}

function context(overrides: Partial<ContentContext> = {}): ContentContext {
  return {
    room: baseRoom,
    mxidOf: (user) => `@ghost_${user.replace(/\W/g, '_')}:example.org`,
    displayNameOf: (user) => (user === ADA ? 'Ada' : user === BOT ? 'Deploy Bot' : undefined),
    eventIdOf: (key) => SENT.get(key),
    latestInThread: (root) => (root === ROOT ? '$latest' : undefined),
    mentions: {
      user: (id) =>
        id === 'U1' ? { mxid: '@ghost_ada:example.org', displayName: 'Ada' } : undefined,
      channel: () => undefined,
    },
    media: (key) => MEDIA[key],
    migratedEvent: (id) => MIGRATED.get(id),
    ...overrides,
  };
}

let counter = 0;
function base(overrides: Partial<EventBase> = {}): EventBase {
  counter += 1;
  return {
    key: eventKey(`slack:C1:1700000001.${String(counter).padStart(6, '0')}`),
    room: ROOM,
    sender: ADA,
    order: orderKeyFromMillis(1_700_000_001_000 + counter, ''),
    ts: 1_700_000_001_000 + counter,
    source: SOURCE,
    nativeId: `1700000001.${counter}`,
    ...overrides,
  };
}

const mrkdwn = (text: string): SourceText => ({ format: 'slack-mrkdwn', text });

function message(text: string | SourceText, overrides: Partial<MessageEvent> = {}): MessageEvent {
  return {
    ...base(),
    kind: 'message',
    msgtype: 'text',
    content: typeof text === 'string' ? mrkdwn(text) : text,
    ...overrides,
  };
}

function file(media: ReturnType<typeof addMedia>, overrides: Partial<FileEvent> = {}): FileEvent {
  return { ...base(), kind: 'file', media, ...overrides };
}

function sendsOf(outcome: ContentOutcome): MatrixSend[] {
  if (outcome.outcome !== 'send') throw new Error(`expected sends, got ${JSON.stringify(outcome)}`);
  return outcome.sends;
}

function only(outcome: ContentOutcome): MatrixSend {
  const sends = sendsOf(outcome);
  expect(sends).toHaveLength(1);
  return sends[0]!;
}

const convert = (event: TimelineEvent, ctx: ContentContext = context()) =>
  eventToMatrix(event, ctx);
const contentOf = (event: TimelineEvent, ctx?: ContentContext) => only(convert(event, ctx)).content;
/** No lone surrogates (String#isWellFormed is ES2024, beyond this project's lib). */
const isWellFormed = (s: string) =>
  !/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/.test(s);
const utf8 = (value: unknown) => Buffer.byteLength(JSON.stringify(value), 'utf8');

// ---------------------------------------------------------------------------------------------

describe('text messages', () => {
  it('carries provenance and empty m.mentions even when the text mentions users and @channel', () => {
    const event = message('hi <@U1> and <!channel>, also <!here>');
    const send = only(convert(event));
    expect(send).toMatchObject({ kind: 'message', part: 0, type: 'm.room.message' });
    expect(send.content[PROVENANCE_KEY]).toEqual({ key: event.key, part: 0 });
    expect(send.content['m.mentions']).toEqual({});
    expect(send.content.msgtype).toBe('m.text');
    expect(send.content.body).toBe('hi Ada and @channel, also @here');
    expect(send.content.format).toBe('org.matrix.custom.html');
    expect(send.content.formatted_body).toContain(
      '<a href="https://matrix.to/#/@ghost_ada:example.org">Ada</a>',
    );
    expect(JSON.stringify(send.content)).not.toContain('@room');
    expect(JSON.stringify(send.content)).not.toContain('user_ids');
  });

  it('has no formatted_body for plain text', () => {
    const content = contentOf(message('just words'));
    expect(content.body).toBe('just words');
    expect(content).not.toHaveProperty('formatted_body');
    expect(content).not.toHaveProperty('format');
    expect(content).not.toHaveProperty('m.relates_to');
  });

  it('renders Slack blocks and attachments through the Slack mapping', () => {
    const content = contentOf(
      message({
        format: 'slack-mrkdwn',
        text: 'fallback',
        blocks: [
          {
            type: 'rich_text',
            elements: [
              { type: 'rich_text_section', elements: [{ type: 'text', text: 'from blocks' }] },
            ],
          },
        ],
        attachments: [{ text: 'attached' }],
      }),
    );
    expect(content.body).toContain('from blocks');
    expect(content.body).toContain('attached');
    expect(content.body).not.toContain('fallback');
  });

  it('maps emote and notice msgtypes', () => {
    expect(contentOf(message('waves', { msgtype: 'emote' })).msgtype).toBe('m.emote');
    expect(contentOf(message('build passed', { msgtype: 'notice' })).msgtype).toBe('m.notice');
  });

  it('passes Matrix-format text through, sanitising the HTML', () => {
    const content = contentOf(
      message({
        format: 'matrix',
        body: 'bold',
        formattedBody: '<b>bold</b><script>alert(1)</script>',
        htmlFormat: 'org.matrix.custom.html',
      }),
    );
    expect(content.body).toBe('bold');
    expect(content.formatted_body).toBe('<b>bold</b>');
    expect(content.format).toBe('org.matrix.custom.html');
  });

  it('sends plain-format text as body only', () => {
    const content = contentOf(message({ format: 'plain', text: '<b>not html</b>' }));
    expect(content.body).toBe('<b>not html</b>');
    expect(content).not.toHaveProperty('formatted_body');
  });

  it('marks edited messages in body and HTML and records the edit time', () => {
    const plain = contentOf(message('final text', { edited: { at: 1_700_000_999_000 } }));
    expect(plain.body).toBe('final text (edited)');
    expect(plain.formatted_body).toBe('final text <sub>(edited)</sub>');
    expect(plain.format).toBe('org.matrix.custom.html');
    expect(plain['ferry.edited_ts']).toBe(1_700_000_999_000);

    const rich = contentOf(message('*bold*', { edited: { at: 5 } }));
    expect(rich.formatted_body).toMatch(/<strong>bold<\/strong>.* <sub>\(edited\)<\/sub>$/);
  });

  it('escapes the plain body when it builds HTML for a marker', () => {
    const content = contentOf(
      message({ format: 'plain', text: 'a < b\nc' }, { edited: { at: 1 } }),
    );
    expect(content.formatted_body).toBe('a &lt; b<br>c <sub>(edited)</sub>');
  });

  it('sends a tombstone as a notice that keeps the thread root in place', () => {
    const content = contentOf(
      message('This message was deleted.', {
        tombstone: true,
        msgtype: 'notice',
        sender: userKey('slack:USLACKBOT'),
      }),
    );
    expect(content.msgtype).toBe('m.notice');
    expect(content.body).toBe('This message was deleted.');
    expect(content['m.mentions']).toEqual({});
  });

  it('prefixes a bot per-message name that differs from the ghost display name', () => {
    const content = contentOf(
      message('deployed', { sender: BOT, senderNameOverride: 'Jenkins <ci>' }),
    );
    expect(content.body).toBe('Jenkins <ci>: deployed');
    expect(content.formatted_body).toBe('<strong>Jenkins &lt;ci&gt;</strong>: deployed');
  });

  it('does not prefix a bot name equal to the display name', () => {
    const content = contentOf(
      message('deployed', { sender: BOT, senderNameOverride: 'Deploy Bot' }),
    );
    expect(content.body).toBe('deployed');
    expect(content).not.toHaveProperty('formatted_body');
  });

  it('skips a message with nothing to show', () => {
    expect(convert(message('   '))).toEqual({ outcome: 'skip', reason: 'empty_content' });
  });
});

describe('custom Slack emoji in text', () => {
  const PARROT =
    '<img data-mx-emoticon src="mxc://example.org/Parrot" alt=":partyparrot:" title=":partyparrot:" height="32" />';
  const withEmoji = (extra: Partial<ContentContext> = {}) => {
    const ctx = context(extra);
    return context({
      ...extra,
      mentions: {
        ...ctx.mentions,
        customEmoji: (name) =>
          name === 'partyparrot' ? { kind: 'image', mxc: 'mxc://example.org/Parrot' } : undefined,
      },
    });
  };

  it('shows an uploaded custom emoji as an inline image, :name: in the body', () => {
    const content = contentOf(message('party :partyparrot:'), withEmoji());
    expect(content.body).toBe('party :partyparrot:');
    expect(content.format).toBe('org.matrix.custom.html');
    expect(content.formatted_body).toBe(`party ${PARROT}`);
  });

  it('shows a custom alias of a standard emoji as that emoji, from emojiAlias too', () => {
    const alias = (name: string) => (name === 'thumbs' ? 'thumbsup' : undefined);
    const content = contentOf(message(':thumbs: :partyparrot:'), context({ emojiAlias: alias }));
    expect(content.body).toBe('\u{1F44D} :partyparrot:');
    expect(content).not.toHaveProperty('formatted_body');
    const both = contentOf(message(':thumbs: :partyparrot:'), withEmoji({ emojiAlias: alias }));
    expect(both.formatted_body).toBe(`\u{1F44D} ${PARROT}`);
  });

  it('keeps the image in edits and in edited-message markers', () => {
    const edited = contentOf(message(':partyparrot:', { edited: { at: 1 } }), withEmoji());
    expect(edited.formatted_body).toBe(`${PARROT} <sub>(edited)</sub>`);
    const edit = contentOf(
      { ...base(), kind: 'edit', target: QUOTED, content: mrkdwn('now :partyparrot:') },
      withEmoji(),
    );
    expect(edit['m.new_content']).toMatchObject({
      body: 'now :partyparrot:',
      formatted_body: `now ${PARROT}`,
    });
  });

  it('leaves unknown custom emoji as :name:', () => {
    expect(contentOf(message(':nobody:'), withEmoji()).body).toBe(':nobody:');
  });
});

describe('threads and replies', () => {
  it('relates a thread reply to its root, falling back to the latest event in the thread', () => {
    const content = contentOf(message('in thread', { thread: { root: ROOT, broadcast: false } }));
    expect(content['m.relates_to']).toEqual({
      rel_type: 'm.thread',
      event_id: '$root',
      is_falling_back: true,
      'm.in_reply_to': { event_id: '$latest' },
    });
  });

  it('falls back to the root when the thread has no later event', () => {
    const ctx = context({ latestInThread: () => undefined });
    const content = contentOf(
      message('first reply', { thread: { root: ROOT, broadcast: false } }),
      ctx,
    );
    expect(content['m.relates_to']).toMatchObject({ 'm.in_reply_to': { event_id: '$root' } });
  });

  it('sends a broadcast reply once, as a thread reply', () => {
    const sends = sendsOf(
      convert(message('also to channel', { thread: { root: ROOT, broadcast: true } })),
    );
    expect(sends).toHaveLength(1);
    expect(sends[0]!.content['m.relates_to']).toMatchObject({
      rel_type: 'm.thread',
      event_id: '$root',
    });
  });

  it('never relates a thread root to itself', () => {
    const event = message('root');
    event.thread = { root: event.key, broadcast: false };
    const content = contentOf(event);
    expect(content).not.toHaveProperty('m.relates_to');
    expect(content.body).toBe('root');
  });

  it('sends an orphan reply unthreaded with a visible prefix', () => {
    const content = contentOf(
      message('lonely *reply*', { thread: { root: MISSING, broadcast: false } }),
    );
    expect(content).not.toHaveProperty('m.relates_to');
    expect(content.body).toBe(`${ORPHAN_REPLY_PREFIX}lonely reply`);
    expect(content.body).toMatch(/^↪ Reply in a thread whose first message is not in the export: /);
    expect(content.formatted_body).toContain(
      'Reply in a thread whose first message is not in the export',
    );
    expect(content.formatted_body).toContain('<strong>reply</strong>');
  });

  it('relates a reply to a known target without quoting it', () => {
    const content = contentOf(message('answer', { replyTo: QUOTED }));
    expect(content['m.relates_to']).toEqual({ 'm.in_reply_to': { event_id: '$quoted' } });
    expect(content.body).toBe('answer');
  });

  it('drops the reply relation when the target is unknown', () => {
    expect(contentOf(message('answer', { replyTo: MISSING }))).not.toHaveProperty('m.relates_to');
  });

  it('makes a reply inside a thread a genuine (non-fallback) reply', () => {
    const content = contentOf(
      message('answer', { replyTo: QUOTED, thread: { root: ROOT, broadcast: false } }),
    );
    expect(content['m.relates_to']).toEqual({
      rel_type: 'm.thread',
      event_id: '$root',
      'm.in_reply_to': { event_id: '$quoted' },
    });
  });
});

describe('files', () => {
  const image = addMedia(
    'F1',
    { name: 'cat.png', mimetype: 'image/png', size: 1234, width: 640, height: 480 },
    'mxc://example.org/cat',
  );
  const video = addMedia(
    'F2',
    { name: 'clip.mp4', mimetype: 'video/mp4', size: 99 },
    'mxc://example.org/clip',
  );
  const audio = addMedia(
    'F3',
    { name: 'memo.m4a', mimetype: 'audio/mp4', width: 1 },
    'mxc://example.org/memo',
  );
  const pdf = addMedia(
    'F4',
    { title: 'Report', mimetype: 'application/pdf' },
    'mxc://example.org/report',
  );
  const hidden = addMedia('F5', { availability: 'hidden_by_limit' });
  const deleted = addMedia('F6', { availability: 'tombstone', name: 'gone.txt' });
  const denied = addMedia('F7', { availability: 'access_denied' });
  const external = addMedia('F8', {
    availability: 'external',
    name: 'Plan',
    remoteUrl: 'https://files.slack.com/files-pri/T1-F8/plan.pdf?t=xoxe-SECRET&x=1#frag',
  });
  const notUploaded = addMedia('F9', {
    name: 'notes.txt',
    remoteUrl: 'https://files.slack.com/files-pri/T1-F9/notes.txt?t=xoxe-SECRET',
  });
  const noBody = addMedia('F10', { name: 'lost.bin' });

  it('sends an image with url, filename and known info', () => {
    const event = file(image);
    const send = only(convert(event));
    expect(send.type).toBe('m.room.message');
    expect(send.content).toEqual({
      msgtype: 'm.image',
      body: 'cat.png',
      filename: 'cat.png',
      url: 'mxc://example.org/cat',
      info: { mimetype: 'image/png', size: 1234, w: 640, h: 480 },
      'm.mentions': {},
      [PROVENANCE_KEY]: { key: event.key, part: 0 },
    });
  });

  it('picks m.video, m.audio and m.file from the mimetype, with only known info fields', () => {
    const v = contentOf(file(video));
    expect(v.msgtype).toBe('m.video');
    expect(v.info).toEqual({ mimetype: 'video/mp4', size: 99 });
    const a = contentOf(file(audio));
    expect(a.msgtype).toBe('m.audio');
    expect(a.info).toEqual({ mimetype: 'audio/mp4' });
    const f = contentOf(file(pdf));
    expect(f.msgtype).toBe('m.file');
    expect(f.body).toBe('Report');
    expect(f.filename).toBe('Report');
  });

  it('puts a caption in body and keeps filename (MSC2530)', () => {
    const content = contentOf(file(image, { caption: mrkdwn('look *here*') }));
    expect(content.body).toBe('look here');
    expect(content.filename).toBe('cat.png');
    expect(content.formatted_body).toContain('<strong>here</strong>');
  });

  it('threads a file like a message', () => {
    const content = contentOf(file(image, { thread: { root: ROOT, broadcast: false } }));
    expect(content['m.relates_to']).toEqual({
      rel_type: 'm.thread',
      event_id: '$root',
      is_falling_back: true,
      'm.in_reply_to': { event_id: '$latest' },
    });
  });

  it('notes an orphan thread file in its caption', () => {
    const content = contentOf(file(image, { thread: { root: MISSING, broadcast: false } }));
    expect(content.body).toBe(`${ORPHAN_REPLY_PREFIX}cat.png`);
    expect(content.filename).toBe('cat.png');
    expect(content).not.toHaveProperty('m.relates_to');
  });

  it('sends a notice for files hidden by the plan limit, deleted or not accessible', () => {
    const h = contentOf(file(hidden));
    expect(h.msgtype).toBe('m.notice');
    expect(h.body).toBe('📎 F5 — not available: hidden by the workspace plan’s history limit');
    expect(h).not.toHaveProperty('url');
    expect(contentOf(file(deleted)).body).toBe('📎 gone.txt — not available: the file was deleted');
    expect(contentOf(file(denied)).body).toMatch(/^📎 F7 — not available: /);
    expect(contentOf(file(noBody)).body).toMatch(/^📎 lost\.bin — not available: /);
    expect(contentOf(file(mediaKey('slack:F404'))).body).toMatch(/not available/);
  });

  it('links external and not-uploaded files without the query string', () => {
    const outcome = convert(file(external));
    const content = only(outcome).content;
    expect(content.msgtype).toBe('m.text');
    expect(content.body).toBe('📎 Plan: https://files.slack.com/files-pri/T1-F8/plan.pdf');
    expect(content.formatted_body).toBe(
      '📎 <a href="https://files.slack.com/files-pri/T1-F8/plan.pdf">Plan</a>',
    );
    expect(JSON.stringify(outcome)).not.toContain('xoxe');
    expect(JSON.stringify(outcome)).not.toContain('?');

    const notes = convert(file(notUploaded));
    expect(only(notes).content.body).toBe(
      '📎 notes.txt: https://files.slack.com/files-pri/T1-F9/notes.txt',
    );
    expect(JSON.stringify(notes)).not.toContain('xoxe');
  });

  it('keeps the caption of an unavailable file', () => {
    const content = contentOf(file(hidden, { caption: mrkdwn('see attached') }));
    expect(content.body).toBe(
      'see attached\n📎 F5 — not available: hidden by the workspace plan’s history limit',
    );
  });

  it('prefixes a bot name on a file', () => {
    const content = contentOf(file(image, { sender: BOT, senderNameOverride: 'Jenkins' }));
    expect(content.body).toBe('Jenkins: cat.png');
    expect(content.filename).toBe('cat.png');
  });
});

describe('reactions', () => {
  const reaction = (name: string, target: EventKey = ROOT): TimelineEvent => ({
    ...base(),
    kind: 'reaction',
    target,
    reaction: { format: 'slack-shortcode', name },
  });

  it('annotates the target with the unicode emoji, skin tones included', () => {
    const event = reaction('+1::skin-tone-3');
    const send = only(convert(event));
    expect(send).toMatchObject({ kind: 'message', part: 0, type: 'm.reaction' });
    expect(send.content).toEqual({
      'm.relates_to': { rel_type: 'm.annotation', event_id: '$root', key: '👍🏼' },
      [PROVENANCE_KEY]: { key: event.key, part: 0 },
    });
    // No m.mentions on a reaction (no body to match; Synapse schema-checks every m.mentions).
    expect(send.content).not.toHaveProperty('m.mentions');
  });

  it('shows a custom emoji that aliases a standard one as that emoji', () => {
    const ctx = context({ emojiAlias: (name) => (name === 'thumbs' ? 'thumbsup' : undefined) });
    expect(contentOf(reaction('thumbs'), ctx)['m.relates_to']).toMatchObject({ key: '👍' });
    expect(contentOf(reaction('partyparrot'), ctx)['m.relates_to']).toMatchObject({
      key: ':partyparrot:',
    });
  });

  it('keeps custom emoji as :name:', () => {
    expect(contentOf(reaction('partyparrot'))['m.relates_to']).toMatchObject({
      key: ':partyparrot:',
    });
  });

  it('reacts with the uploaded image of a custom emoji only when image reactions are on', () => {
    const base = context();
    const mentions = {
      ...base.mentions,
      customEmoji: (name: string) =>
        name === 'partyparrot'
          ? ({ kind: 'image', mxc: 'mxc://example.org/parrot' } as const)
          : undefined,
    };
    const off = contentOf(reaction('partyparrot'), context({ mentions }));
    expect(off['m.relates_to']).toMatchObject({ key: ':partyparrot:' });
    expect(off['com.beeper.reaction.shortcode']).toBeUndefined();
    const on = contentOf(reaction('partyparrot'), context({ mentions, imageReactions: true }));
    expect(on['m.relates_to']).toMatchObject({ key: 'mxc://example.org/parrot' });
    expect(on['com.beeper.reaction.shortcode']).toBe(':partyparrot:');
    const unknown = contentOf(reaction('nobody'), context({ mentions, imageReactions: true }));
    expect(unknown['m.relates_to']).toMatchObject({ key: ':nobody:' });
  });

  it('passes unicode keys through', () => {
    const event: TimelineEvent = {
      ...base(),
      kind: 'reaction',
      target: ROOT,
      reaction: { format: 'unicode', key: '🎉' },
    };
    expect(contentOf(event)['m.relates_to']).toMatchObject({ key: '🎉' });
  });

  it('skips a reaction whose target was never sent', () => {
    expect(convert(reaction('+1', MISSING))).toEqual({
      outcome: 'skip',
      reason: 'reaction_target_missing',
    });
  });
});

describe('room state', () => {
  const change = (c: RoomStateChange): TimelineEvent => ({
    ...base(),
    kind: 'room_state',
    change: c,
  });

  it('sends name, topic and join rules as state events with provenance', () => {
    const event = change({ field: 'name', name: 'random', previous: 'general' });
    expect(only(convert(event))).toEqual({
      kind: 'state',
      part: 0,
      type: 'm.room.name',
      stateKey: '',
      content: { name: 'random', [PROVENANCE_KEY]: { key: event.key, part: 0 } },
    });
    expect(only(convert(change({ field: 'topic', topic: 'news' })))).toMatchObject({
      kind: 'state',
      type: 'm.room.topic',
      stateKey: '',
      content: { topic: 'news' },
    });
    expect(only(convert(change({ field: 'visibility', private: true })))).toMatchObject({
      type: 'm.room.join_rules',
      content: { join_rule: 'invite' },
    });
    expect(only(convert(change({ field: 'visibility', private: false })))).toMatchObject({
      type: 'm.room.join_rules',
      content: { join_rule: 'public' },
    });
  });

  it('uses the purpose as topic only when the room has no topic', () => {
    const purpose = change({ field: 'purpose', purpose: 'talk about things' });
    expect(only(convert(purpose))).toMatchObject({
      kind: 'state',
      type: 'm.room.topic',
      content: { topic: 'talk about things' },
    });

    const withTopic = context({ room: { ...baseRoom, topic: 'the topic' } });
    const send = only(convert(purpose, withTopic));
    expect(send).toMatchObject({ kind: 'message', type: 'm.room.message' });
    expect(send.content).toMatchObject({
      msgtype: 'm.notice',
      body: 'set the channel purpose: talk about things',
      'm.mentions': {},
    });
    expect(send.content[PROVENANCE_KEY]).toEqual({ key: purpose.key, part: 0 });
  });

  it('announces archiving with a notice', () => {
    expect(contentOf(change({ field: 'archived', archived: true }))).toMatchObject({
      msgtype: 'm.notice',
      body: 'archived the channel',
    });
    expect(contentOf(change({ field: 'archived', archived: false })).body).toBe(
      'unarchived the channel',
    );
  });
});

describe('edits and writer-handled kinds', () => {
  it('sends an m.replace edit with m.new_content and a "* " fallback', () => {
    const event: TimelineEvent = {
      ...base(),
      kind: 'edit',
      target: QUOTED,
      content: { format: 'matrix', body: 'fixed', formattedBody: '<em>fixed</em>' },
    };
    const content = contentOf(event);
    expect(content).toEqual({
      msgtype: 'm.text',
      body: '* fixed',
      format: 'org.matrix.custom.html',
      formatted_body: '* <em>fixed</em>',
      'm.new_content': {
        msgtype: 'm.text',
        body: 'fixed',
        format: 'org.matrix.custom.html',
        formatted_body: '<em>fixed</em>',
        'm.mentions': {},
      },
      'm.relates_to': { rel_type: 'm.replace', event_id: '$quoted' },
      'm.mentions': {},
      [PROVENANCE_KEY]: { key: event.key, part: 0 },
    });
  });

  it('skips an edit whose target was never sent', () => {
    const event: TimelineEvent = {
      ...base(),
      kind: 'edit',
      target: MISSING,
      content: { format: 'plain', text: 'x' },
    };
    expect(convert(event)).toEqual({ outcome: 'skip', reason: 'edit_target_missing' });
  });

  it('keeps an oversized edit in one event and truncates it visibly', () => {
    const event: TimelineEvent = {
      ...base(),
      kind: 'edit',
      target: QUOTED,
      content: { format: 'plain', text: 'x'.repeat(100_000) },
    };
    const send = only(convert(event));
    expect(utf8(send.content)).toBeLessThanOrEqual(MAX_CONTENT_BYTES);
    expect((send.content['m.new_content'] as { body: string }).body).toMatch(/truncated/);
  });

  it('leaves memberships, pins and redactions to the writer', () => {
    expect(convert({ ...base(), kind: 'membership', membership: 'join', target: ADA })).toEqual({
      outcome: 'writer',
      handledBy: 'membership',
    });
    expect(convert({ ...base(), kind: 'pin', target: ROOT, pinned: true })).toEqual({
      outcome: 'writer',
      handledBy: 'pin',
    });
    expect(convert({ ...base(), kind: 'redaction', target: ROOT })).toEqual({
      outcome: 'writer',
      handledBy: 'redaction',
    });
  });
});

describe('matrix.to links to migrated events', () => {
  const NEW1 = 'https://matrix.to/#/!new:new.example/$NEW1';
  const NEW2 = 'https://matrix.to/#/!other:new.example/$NEW2';
  const matrixText = (body: string, formattedBody?: string): SourceText =>
    formattedBody === undefined
      ? { format: 'matrix', body }
      : { format: 'matrix', body, formattedBody, htmlFormat: 'org.matrix.custom.html' };

  it('points a room-ID link in body and formatted_body at the new room and event, without via', () => {
    const link = 'https://matrix.to/#/!old:old.example/$abc?via=old.example&via=b.example';
    const content = contentOf(
      message(
        matrixText(`see ${link}`, `see <a href="${link}">${link.replace(/&/g, '&amp;')}</a>`),
      ),
    );
    expect(content.body).toBe(`see ${NEW1}`);
    expect(content.formatted_body).toBe(`see <a href="${NEW1}">${NEW1}</a>`);
  });

  it('decodes percent-encoded links and v1/v2 event IDs', () => {
    const encoded = 'https://matrix.to/#/%21old%3Aold.example/%24v1%3Aold.example?via=old.example';
    const lower = 'https://matrix.to/#/%21old%3aold.example/%24abc';
    const content = contentOf(
      message(matrixText(`${encoded} and ${lower}`, `<a href="${encoded}">that</a> ${lower}`)),
    );
    expect(content.body).toBe(`${NEW2} and ${NEW1}`);
    expect(content.formatted_body).toBe(`<a href="${NEW2}">that</a> ${NEW1}`);
  });

  it('rewrites alias and event-only links, keeping punctuation around them', () => {
    const content = contentOf(
      message(
        matrixText(
          '(https://matrix.to/#/#chat:old.example/$abc), https://matrix.to/#/$abc. https://matrix.to/#/%23chat%3Aold.example/%24abc?',
        ),
      ),
    );
    expect(content.body).toBe(`(${NEW1}), ${NEW1}. ${NEW1}?`);
  });

  it('leaves links to unknown events, rooms and users unchanged', () => {
    const text =
      'https://matrix.to/#/!old:old.example/$unknown?via=old.example https://matrix.to/#/!old:old.example https://matrix.to/#/@alice:old.example';
    const html = `<a href="https://matrix.to/#/!old:old.example/$unknown?via=old.example">x</a>`;
    const content = contentOf(message(matrixText(text, html)));
    expect(content.body).toBe(text);
    expect(content.formatted_body).toBe(html);
  });

  it('rewrites the text of a Matrix edit and of a Matrix caption', () => {
    const edit: TimelineEvent = {
      ...base(),
      kind: 'edit',
      target: QUOTED,
      content: matrixText('https://matrix.to/#/!old:old.example/$abc'),
    };
    const content = contentOf(edit);
    expect(content.body).toBe(`* ${NEW1}`);
    expect((content['m.new_content'] as { body: string }).body).toBe(NEW1);

    const media = addMedia(
      'F-LINK',
      { name: 'notes.pdf', mimetype: 'application/pdf' },
      'mxc://x/y',
    );
    const caption = contentOf(file(media, { caption: matrixText('re https://matrix.to/#/$abc') }));
    expect(caption.body).toBe(`re ${NEW1}`);
  });

  it('does not touch Slack or plain text, nor ask about it', () => {
    const asked: string[] = [];
    const ctx = context({
      migratedEvent: (id) => {
        asked.push(id);
        return MIGRATED.get(id);
      },
    });
    const slack = contentOf(message('see <https://matrix.to/#/!old:old.example/$abc>'), ctx);
    expect(slack.body).toBe('see https://matrix.to/#/!old:old.example/$abc');
    const plain = contentOf(message({ format: 'plain', text: 'https://matrix.to/#/$abc' }), ctx);
    expect(plain.body).toBe('https://matrix.to/#/$abc');
    expect(asked).toEqual([]);
  });

  it('names the linked event IDs, decoded, of Matrix-origin texts only', () => {
    expect(
      matrixToEventIds(
        'https://matrix.to/#/!r:s/%24v1%3Aold.example?via=s https://matrix.to/#/$abc. https://matrix.to/#/$abc https://matrix.to/#/!r:s',
      ),
    ).toEqual(['$v1:old.example', '$abc']);
    expect(
      linkedEventIds(
        message(matrixText('https://matrix.to/#/$abc', '<a href="https://matrix.to/#/$def">x</a>')),
      ),
    ).toEqual(['$abc', '$def']);
    expect(linkedEventIds(message('https://matrix.to/#/$abc'))).toEqual([]);
    expect(
      linkedEventIds({
        ...base(),
        kind: 'reaction',
        target: ROOT,
        reaction: { format: 'unicode', key: '👍' },
      }),
    ).toEqual([]);
  });
});

describe('size limit', () => {
  const MARKER = /^\(continued (\d+)\/(\d+)\)\n/;
  const unmark = (body: string) => body.replace(MARKER, '');

  function paragraphText(bytes: number): string {
    const lines: string[] = [];
    let size = 0;
    for (let i = 0; size < bytes; i++) {
      const line = `line ${i}: the quick brown fox "jumps" over the lazy dog \\ ${'é'.repeat(i % 7)}`;
      lines.push(line);
      size += Buffer.byteLength(line) + 1;
    }
    return lines.join('\n');
  }

  it('splits a 200 KB message into parts that reassemble exactly and each fit', () => {
    const text = paragraphText(200_000);
    const event = message({ format: 'plain', text }, { thread: { root: ROOT, broadcast: false } });
    const sends = sendsOf(convert(event));
    expect(sends.length).toBeGreaterThanOrEqual(4);
    sends.forEach((send, index) => {
      expect(send.part).toBe(index);
      expect(send.type).toBe('m.room.message');
      expect(send.content[PROVENANCE_KEY]).toEqual({ key: event.key, part: index });
      expect(send.content['m.mentions']).toEqual({});
      expect(send.content).not.toHaveProperty('formatted_body');
      expect(send.content['m.relates_to']).toMatchObject({
        rel_type: 'm.thread',
        event_id: '$root',
      });
      expect(utf8(send.content)).toBeLessThan(MAX_CONTENT_BYTES);
      const body = send.content.body as string;
      if (index === 0) expect(body).not.toMatch(MARKER);
      else expect(body.match(MARKER)?.slice(1)).toEqual([String(index + 1), String(sends.length)]);
    });
    expect(sends.map((s) => unmark(s.content.body as string)).join('')).toBe(text);
  });

  it('drops the HTML before splitting when the text alone fits', () => {
    const text = '*b* ' + 'word '.repeat(8_000);
    const sends = sendsOf(convert(message(text)));
    expect(sends).toHaveLength(1);
    expect(sends[0]!.content).not.toHaveProperty('formatted_body');
  });

  it('never cuts a 4-byte emoji at a split boundary', () => {
    const text = '😀'.repeat(40_000); // 160 KB, no spaces: hard cuts only
    const sends = sendsOf(convert(message({ format: 'plain', text })));
    expect(sends.length).toBeGreaterThanOrEqual(3);
    for (const send of sends) {
      const body = unmark(send.content.body as string);
      expect(isWellFormed(body)).toBe(true);
      expect(Buffer.from(body, 'utf8').toString('utf8')).toBe(body);
      expect(utf8(send.content)).toBeLessThan(MAX_CONTENT_BYTES);
    }
    expect(sends.map((s) => unmark(s.content.body as string)).join('')).toBe(text);
  });

  it('keeps a big caption in parts after the file itself', () => {
    const media = addMedia(
      'F99',
      { name: 'big.txt', mimetype: 'text/plain' },
      'mxc://example.org/big',
    );
    const caption = paragraphText(90_000);
    const sends = sendsOf(convert(file(media, { caption: { format: 'plain', text: caption } })));
    expect(sends.length).toBeGreaterThanOrEqual(3);
    expect(sends[0]!.content).toMatchObject({
      msgtype: 'm.file',
      body: 'big.txt',
      url: 'mxc://example.org/big',
    });
    expect(
      sends
        .slice(1)
        .map((s) => unmark(s.content.body as string))
        .join(''),
    ).toBe(caption);
    for (const send of sends) expect(utf8(send.content)).toBeLessThan(MAX_CONTENT_BYTES);
  });
});

describe('splitJsonText', () => {
  it('keeps emoji sequences (ZWJ, skin tones) whole and prefers line breaks', () => {
    const family = '👩‍👩‍👧‍👦';
    const chunks = splitJsonText(`ab${family}${family}`, 30); // 27 bytes, then 25
    for (const chunk of chunks) expect(isWellFormed(chunk)).toBe(true);
    expect(chunks.join('')).toBe(`ab${family}${family}`);
    expect(chunks[0]).toBe(`ab${family}`);

    expect(splitJsonText('aaaa\nbbbbbbb', 10)).toEqual(['aaaa\n', 'bbbbbbb']);
  });

  it('counts JSON escapes', () => {
    expect(splitJsonText('""""""', 6)).toEqual(['"""', '"""']);
    expect(splitJsonText('a\u0001b', 7)).toEqual(['a\u0001', 'b']);
  });
});
