/**
 * The shared Matrix-event mapper on its own: what one event becomes under each adapter's
 * rules, and how `m.room.encrypted` events go through a decryptor or are counted per room.
 */
import { describe, expect, it } from 'vitest';
import type { DecryptOutcome, EventDecryptor } from '../../../src/e2ee/decryptor.js';
import { SummaryCounter } from '../../../src/ingest/summary.js';
import { roomKey, sourceKey, type SourceItem } from '../../../src/model/index.js';
import {
  ARCHIVE_RULES,
  ELEMENT_RULES,
  matrixEventItems,
  parseMatrixEvent,
  type MatrixEventContext,
  type MatrixEventRules,
  type MatrixEvent,
} from '../../../src/sources/matrix-events/index.js';
import { matrixMediaKey } from '../../../src/model/matrix-keys.js';

const ROOM = '!room:example.org';

function context(rules: Readonly<MatrixEventRules>, extra: Partial<MatrixEventContext> = {}) {
  return {
    source: sourceKey('test:source'),
    room: roomKey(`matrix:${ROOM}`),
    roomId: ROOM,
    rules,
    media: ({ content }) => {
      const url = typeof content.url === 'string' ? content.url : undefined;
      return url === undefined
        ? undefined
        : { key: matrixMediaKey(url), nativeId: url, availability: 'available', losses: [] };
    },
    editedMessages: new Set<string>(),
    orphanReplies: 0,
    ...extra,
  } satisfies MatrixEventContext;
}

let n = 0;
function ev(type: string, content: Record<string, unknown>, more: Record<string, unknown> = {}) {
  n += 1;
  const parsed = parseMatrixEvent({
    event_id: `$e${n}`,
    type,
    sender: '@alice:example.org',
    origin_server_ts: 1_700_000_000_000 + n,
    room_id: ROOM,
    content,
    ...more,
  });
  if (parsed === undefined) throw new Error('test event does not parse');
  return parsed;
}

const map = (e: MatrixEvent, ctx: MatrixEventContext) => matrixEventItems(e, ctx, `t ${e.eventId}`);
const events = (items: SourceItem[]) => items.flatMap((i) => (i.type === 'event' ? [i.event] : []));
const skips = (items: SourceItem[]) =>
  items.flatMap((i) => (i.type === 'skip' ? [[i.reason, i.where]] : []));

describe('parseMatrixEvent', () => {
  it('refuses events without a valid ID, sender, type or timestamp', () => {
    const good = { event_id: '$a', type: 'm.room.message', sender: '@a:b', origin_server_ts: 1 };
    expect(parseMatrixEvent(good)).toBeDefined();
    expect(parseMatrixEvent({ ...good, event_id: 'a' })).toBeUndefined();
    expect(parseMatrixEvent({ ...good, sender: 'alice' })).toBeUndefined();
    expect(parseMatrixEvent({ ...good, type: ' ' })).toBeUndefined();
    expect(parseMatrixEvent({ ...good, origin_server_ts: -1 })).toBeUndefined();
    expect(parseMatrixEvent({ ...good, unsigned: { redacted_because: {} } })?.redacted).toBe(true);
  });
});

describe('matrixEventItems', () => {
  it('maps a threaded reply with its real in-thread reply target', () => {
    const e = ev('m.room.message', {
      msgtype: 'm.text',
      body: 'hi',
      'm.relates_to': {
        rel_type: 'm.thread',
        event_id: '$root',
        'm.in_reply_to': { event_id: '$x' },
      },
    });
    const [message] = events(map(e, context(ELEMENT_RULES)));
    expect(message).toMatchObject({
      kind: 'message',
      msgtype: 'text',
      thread: { root: 'matrix:$root', broadcast: false },
      replyTo: 'matrix:$x',
      content: { format: 'matrix', body: 'hi' },
    });
  });

  it('shows a message with its bundled edit, marks it edited and skips the older edit event', () => {
    const ctx = context(ELEMENT_RULES);
    const original = ev(
      'm.room.message',
      { msgtype: 'm.text', body: 'old' },
      {
        unsigned: {
          'm.relations': {
            'm.replace': {
              sender: '@alice:example.org',
              origin_server_ts: 5,
              content: { 'm.new_content': { msgtype: 'm.text', body: 'new' } },
            },
          },
        },
      },
    );
    const items = map(original, ctx);
    expect(events(items)[0]).toMatchObject({ content: { body: 'new' }, edited: { at: 5 } });
    expect(items.some((i) => i.type === 'loss' && i.reason === 'edit_history')).toBe(true);
    const edit = ev('m.room.message', {
      msgtype: 'm.text',
      body: '* new',
      'm.new_content': { msgtype: 'm.text', body: 'new' },
      'm.relates_to': { rel_type: 'm.replace', event_id: original.eventId },
    });
    expect(skips(map(edit, ctx))).toEqual([
      ['duplicate', `t ${edit.eventId}: edit already applied to ${original.eventId}`],
    ]);
  });

  it('yields a file event after its media record, once per media key when asked to', () => {
    const ctx = context(ELEMENT_RULES, { emittedMedia: new Set() });
    const content = {
      msgtype: 'm.image',
      body: 'a.png',
      url: 'mxc://s/a',
      info: { size: 3.7, w: 2 },
    };
    const first = map(ev('m.room.message', content), ctx);
    expect(first.map((i) => i.type)).toEqual(['media', 'event']);
    expect(first[0]).toMatchObject({
      media: { name: 'a.png', size: 3, width: 2, mode: 'm.image' },
    });
    expect(map(ev('m.room.message', content), ctx).map((i) => i.type)).toEqual(['event']);
    const archive = context(ARCHIVE_RULES);
    const [media] = map(ev('m.room.message', content), archive);
    // The archive's rules take only whole sizes.
    expect(media?.type).toBe('media');
    expect(media?.type === 'media' ? media.media.size : 'none').toBeUndefined();
  });

  it('keeps each adapter’s reading of legacy and broken events (rules.ts)', () => {
    const cases: [string, Record<string, unknown>, Record<string, unknown>][] = [
      ['m.room.message', {}, {}],
      ['m.room.message', { body: 'no msgtype' }, {}],
      ['m.reaction', { 'm.relates_to': { rel_type: 'm.annotation', key: '👍' } }, {}],
      [
        'm.room.member',
        { membership: 'leave' },
        { state_key: '@bob:example.org', unsigned: { prev_content: { membership: 'ban' } } },
      ],
      ['m.room.name', {}, { state_key: '' }],
    ];
    const reasons = (rules: Readonly<MatrixEventRules>) =>
      cases.map(([type, content, more]) => {
        const items = map(ev(type, content, more), context(rules));
        const event = events(items)[0];
        return event === undefined ? skips(items)[0]?.[0] : event.kind;
      });
    expect(reasons(ELEMENT_RULES)).toEqual([
      'missing_content',
      'missing_content',
      'malformed_message',
      'unsupported_event',
      'room_state',
    ]);
    expect(reasons(ARCHIVE_RULES)).toEqual([
      'redacted',
      'message',
      'unsupported_event',
      'membership',
      'unsupported_event',
    ]);
  });

  it('strips reply fallbacks only under the archive rules', () => {
    const content = {
      msgtype: 'm.text',
      body: '> <@bob:example.org> quoted\n\nanswer',
      'm.relates_to': { 'm.in_reply_to': { event_id: '$q' } },
    };
    const body = (rules: Readonly<MatrixEventRules>) => {
      const [e] = events(map(ev('m.room.message', content), context(rules)));
      return e?.kind === 'message' && e.content.format === 'matrix' ? e.content.body : undefined;
    };
    expect(body(ARCHIVE_RULES)).toBe('answer');
    expect(body(ELEMENT_RULES)).toBe(content.body);
  });

  it('counts orphan thread replies whose root has not come before them', () => {
    const ctx = context(ELEMENT_RULES, { threadRoots: new Map([['$root', false]]) });
    const reply = {
      msgtype: 'm.text',
      body: 'r',
      'm.relates_to': { rel_type: 'm.thread', event_id: '$root' },
    };
    map(ev('m.room.message', reply), ctx);
    expect(ctx.orphanReplies).toBe(1);
    map(
      parseMatrixEvent({
        event_id: '$root',
        type: 'm.room.message',
        sender: '@a:b',
        origin_server_ts: 1,
        content: { msgtype: 'm.text', body: 'root' },
      })!,
      ctx,
    );
    map(ev('m.room.message', reply), ctx);
    expect(ctx.orphanReplies).toBe(1);
  });
});

describe('encrypted events', () => {
  const encrypted = (relation?: Record<string, unknown>) =>
    ev('m.room.encrypted', {
      algorithm: 'm.megolm.v1.aes-sha2',
      ciphertext: 'AAAA',
      session_id: 'S1',
      ...(relation === undefined ? {} : { 'm.relates_to': relation }),
    });

  /** A decryptor that answers from a table, recording what it was asked. */
  function tableDecryptor(answer: (eventId: string) => DecryptOutcome) {
    const asked: unknown[] = [];
    const decryptor: EventDecryptor = {
      decryptEvent(event) {
        asked.push(event);
        return answer(event.event_id ?? '');
      },
    };
    return { decryptor, asked };
  }

  it('maps the clear event under the envelope’s ID, sender and time', () => {
    const { decryptor, asked } = tableDecryptor(() => ({
      kind: 'decrypted',
      type: 'm.room.message',
      content: { msgtype: 'm.text', body: 'secret' },
    }));
    const e = encrypted({ rel_type: 'm.thread', event_id: '$root' });
    const [message] = events(map(e, context(ELEMENT_RULES, { decryptor })));
    expect(message).toMatchObject({
      key: `matrix:${e.eventId}`,
      sender: 'matrix:@alice:example.org',
      ts: e.ts,
      content: { body: 'secret' },
      // The clear-text relation of the envelope is kept.
      thread: { root: 'matrix:$root' },
    });
    expect(asked).toEqual([
      { room_id: ROOM, content: e.content, event_id: e.eventId, sender: '@alice:example.org' },
    ]);
  });

  it('counts what stays encrypted per room and per reason, in skips and in the summary', () => {
    let calls = 0;
    const { decryptor } = tableDecryptor(() =>
      ++calls % 2 === 0
        ? { kind: 'failed', reason: 'bad MAC' }
        : { kind: 'no_key', sessionId: 'S1' },
    );
    const items = [
      ...map(encrypted(), context(ELEMENT_RULES)),
      ...Array.from({ length: 4 }, () =>
        map(encrypted(), context(ELEMENT_RULES, { decryptor })),
      ).flat(),
      ...map(
        ev('m.room.message', { msgtype: 'm.bad.encrypted', body: '** Unable to decrypt **' }),
        context(ELEMENT_RULES),
      ),
    ];
    expect(items.every((i) => i.type === 'skip' && i.reason === 'undecryptable')).toBe(true);
    const counter = new SummaryCounter();
    for (const item of items) counter.add(item);
    const summary = counter.finish();
    const byWhy = summary.undecryptable[`matrix:${ROOM}`] ?? {};
    expect(summary.skipped.undecryptable).toBe(6);
    expect(byWhy.no_decryptor).toBe(1);
    expect(byWhy.exporter).toBe(1);
    expect(byWhy.no_key).toBe(2);
    expect(byWhy.failed).toBe(2);
    expect(skips(items).some(([, where]) => where?.endsWith('no key for session S1'))).toBe(true);
  });
});
