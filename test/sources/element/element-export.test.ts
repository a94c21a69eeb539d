import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { FerryError } from '../../../src/errors.js';
import type {
  EditEvent,
  FileEvent,
  MembershipEvent,
  MessageEvent,
  ReactionEvent,
  RedactionEvent,
  RoomStateEvent,
  SourceItem,
} from '../../../src/model/index.js';
import { openArchive } from '../../../src/archive/archive-reader.js';
import { elementExportItems } from '../../../src/sources/element/index.js';
import { matrixOrder } from '../../../src/model/matrix-keys.js';
import { collect } from '../../support/collect.js';
import { buildZip } from '../../support/zip-builder.js';
import {
  ATTACHMENTS,
  ENCRYPTED_ROOM_ID,
  encryptedExport,
  FIRST,
  ROOT,
  attachmentBody,
  event,
  firstAsFolder,
  firstAsZip,
  tempDir,
  writeExport,
} from './element-fixtures.js';

type Collected = Awaited<ReturnType<typeof collect>>;

const ev = (r: Collected, id: string) => r.event(`matrix:${id}`);
/** The event a skip or loss names (`… <entry> $id[: note]`, or `messages[i]` without an ID). */
const idOf = (where: string) => / (\$[^\s:]+|messages\[\d+\])/.exec(where)?.[1];
const skipsOf = (r: Collected, reason: string) =>
  r.skips.filter((s) => s.reason === reason).map((s) => idOf(s.where));

async function failure(items: AsyncIterable<SourceItem>): Promise<FerryError> {
  try {
    for await (const _ of items) {
      /* drain */
    }
  } catch (e) {
    if (e instanceof FerryError) return e;
    throw e;
  }
  throw new Error('expected a FerryError');
}

describe('Element adapter on the first fixture (bare JSON)', () => {
  let r: Collected;
  beforeAll(async () => {
    r = await collect(elementExportItems(FIRST));
  });

  it('names the source after the room and the exporter', () => {
    expect(r.all[0]).toEqual({
      type: 'source',
      source: { key: 'element:!ferry:example.org:Bob', kind: 'element', name: 'Ferry Crew' },
    });
  });

  it('yields one room, before any event, with the state the export leaves', () => {
    expect(r.rooms).toHaveLength(1);
    expect(r.rooms[0]).toEqual({
      key: 'matrix:!ferry:example.org',
      source: 'element:!ferry:example.org:Bob',
      nativeId: '!ferry:example.org',
      kind: 'channel', // join_rule public
      name: 'Ferry Crew',
      topic: 'Boats and bytes',
      createdAt: 1714557600123,
      creator: 'matrix:@alice:example.org',
      isArchived: false,
      isGeneral: false,
      // Carol left and Erin was kicked; Dave never joined.
      members: ['matrix:@alice:example.org', 'matrix:@bob:example.org'],
    });
    const firstEvent = r.all.findIndex((i) => i.type === 'event');
    const room = r.all.findIndex((i) => i.type === 'room');
    const lastUser = r.all.map((i) => i.type).lastIndexOf('user');
    expect(room).toBeLessThan(firstEvent);
    expect(lastUser).toBeLessThan(firstEvent);
  });

  it('yields each person once, named by their latest membership event', () => {
    const keys = r.users.map((u) => u.key);
    expect(new Set(keys).size).toBe(keys.length);
    const byKey = new Map<string, (typeof r.users)[number]>(r.users.map((u) => [u.key, u]));
    expect(byKey.get('matrix:@alice:example.org')).toMatchObject({
      displayName: 'Alice A.',
      handle: 'alice',
      nativeId: '@alice:example.org',
      isPlaceholder: false,
      isAdmin: true, // power level 100
    });
    // "Bobby" at join, renamed to "Bob" later (a profile change).
    expect(byKey.get('matrix:@bob:example.org')).toMatchObject({
      displayName: 'Bob',
      isPlaceholder: false,
      isAdmin: false,
    });
    expect(byKey.get('matrix:@carol:example.org')?.displayName).toBe('Carol C.');
    expect(byKey.get('matrix:@erin:example.org')?.displayName).toBe('Erin');
    // Dave only sends: no membership event names him.
    expect(byKey.get('matrix:@dave:example.org')).toMatchObject({
      displayName: 'dave',
      handle: 'dave',
      isPlaceholder: true,
    });
    expect(keys).toHaveLength(5);
  });

  it('keys, orders and dates every event by its Matrix identity', () => {
    const text = ev(r, '$text');
    expect(text).toMatchObject({
      key: 'matrix:$text',
      room: 'matrix:!ferry:example.org',
      sender: 'matrix:@alice:example.org',
      ts: 1714558200123,
      nativeId: '$text',
      source: 'element:!ferry:example.org:Bob',
    });
    expect(text.order).toBe(matrixOrder(1714558200123, '$text'));
    expect(text.order).toBe('01714558200123000.$text');
    const orders = r.events.map((e) => e.order);
    expect(orders).toEqual([...orders].sort());
  });

  it('maps text, formatted text, emotes and notices', () => {
    expect(ev(r, '$text')).toMatchObject({
      kind: 'message',
      msgtype: 'text',
      content: { format: 'matrix', body: 'hello world' },
    });
    expect((ev(r, '$text') as MessageEvent).content).not.toHaveProperty('formattedBody');
    expect(ev(r, '$html')).toMatchObject({
      kind: 'message',
      msgtype: 'text',
      content: {
        format: 'matrix',
        body: 'ship it',
        formattedBody: '<b>ship</b> it',
        htmlFormat: 'org.matrix.custom.html',
      },
    });
    expect(ev(r, '$emote')).toMatchObject({ msgtype: 'emote', content: { body: 'waves' } });
    expect(ev(r, '$notice')).toMatchObject({
      msgtype: 'notice',
      content: { body: 'build passed' },
    });
  });

  it('keeps the body of unknown msgtypes as text, with the msgtype as subtype', () => {
    expect(ev(r, '$location')).toMatchObject({
      kind: 'message',
      msgtype: 'text',
      subtype: 'm.location',
      content: { body: 'Harbour (geo:54.3,10.1)' },
    });
  });

  it('maps media to file events with media records keyed by their mxc URI', () => {
    const image = ev(r, '$image') as FileEvent;
    expect(image).toMatchObject({ kind: 'file', media: 'mxc://example.org/AbCdEf' });
    expect(image.caption).toBeUndefined();
    const media = new Map<string, (typeof r.media)[number]>(r.media.map((m) => [m.key, m]));
    expect(media.get('mxc://example.org/AbCdEf')).toEqual({
      key: 'mxc://example.org/AbCdEf',
      source: 'element:!ferry:example.org:Bob',
      nativeId: 'mxc://example.org/AbCdEf',
      availability: 'available',
      name: 'screenshot.png',
      mimetype: 'image/png',
      size: 48213,
      width: 800,
      height: 600,
      mode: 'm.image',
    });
    expect(media.get('mxc://example.org/NoTeS')).toMatchObject({
      name: 'notes.pdf',
      mimetype: 'application/pdf',
      size: 1234,
      mode: 'm.file',
    });
    expect(media.get('mxc://example.org/StIcK')).toMatchObject({ mode: 'm.sticker', width: 256 });
    expect(media.get('mxc://example.org/VoIcE')).toMatchObject({
      mode: 'm.audio',
      name: 'Voice message',
    });
    expect(media.get('mxc://example.org/ViDeO')).toMatchObject({ mode: 'm.video', height: 360 });
    expect(ev(r, '$sticker')).toMatchObject({ kind: 'file', media: 'mxc://example.org/StIcK' });
    for (const m of r.media) {
      expect(m.remoteUrl).toBeUndefined();
      expect(m.localPath).toBeUndefined(); // a bare JSON has no attachments
    }
    // Every media record comes right before the first event that uses it.
    for (const m of r.media) {
      const at = r.all.findIndex((i) => i.type === 'media' && i.media.key === m.key);
      const user = r.all.findIndex(
        (i) => i.type === 'event' && i.event.kind === 'file' && i.event.media === m.key,
      );
      expect(at).toBeLessThan(user);
    }
    const noBody = r.losses.filter((l) => l.reason === 'file_body_not_in_export');
    expect(noBody.map((l) => idOf(l.where))).toEqual([
      '$image',
      '$file',
      '$sticker',
      '$voice',
      '$video',
      '$image2',
    ]);
  });

  it('links replies and threads', () => {
    expect(ev(r, '$reply')).toMatchObject({ replyTo: 'matrix:$text' });
    expect(ev(r, '$reply').thread).toBeUndefined();
    const root = ev(r, '$root');
    expect(root.thread).toBeUndefined();
    expect(root.replyTo).toBeUndefined();
    // Falling back: the in-reply-to is only the thread fallback, not a reply.
    expect(ev(r, '$thread1').thread).toEqual({ root: 'matrix:$root', broadcast: false });
    expect(ev(r, '$thread1').replyTo).toBeUndefined();
    // A real reply inside the thread.
    expect(ev(r, '$thread2')).toMatchObject({
      thread: { root: 'matrix:$root', broadcast: false },
      replyTo: 'matrix:$thread1',
    });
    expect(r.losses.filter((l) => l.reason === 'thread_root_missing')).toEqual([]);
  });

  it('keeps the final content of a message edited in place and marks it, once', () => {
    const edited = ev(r, '$edited') as MessageEvent;
    expect(edited.content).toEqual({ format: 'matrix', body: 'fixed typo' });
    expect(edited.edited).toEqual({ at: 1714558860123, by: 'matrix:@alice:example.org' });
    // The separate m.replace event of the same edit is not replayed.
    expect(r.events.find((e) => e.key === 'matrix:$edit-bundled')).toBeUndefined();
    expect(skipsOf(r, 'duplicate')).toEqual(['$edit-bundled']);
    expect(r.losses.filter((l) => l.reason === 'edit_history').map((l) => idOf(l.where))).toEqual([
      '$edited',
    ]);
  });

  it('maps a separate m.replace event to an edit of its target', () => {
    const edit = ev(r, '$edit-sep') as EditEvent;
    expect(edit).toMatchObject({ kind: 'edit', target: 'matrix:$orig' });
    expect(edit.content).toEqual({
      format: 'matrix',
      body: 'the plan',
      formattedBody: 'the <i>plan</i>',
      htmlFormat: 'org.matrix.custom.html',
    });
    expect((ev(r, '$orig') as MessageEvent).content).toMatchObject({ body: 'teh plan' });
    expect((ev(r, '$orig') as MessageEvent).edited).toBeUndefined();
  });

  it('maps reactions and redactions; skips events already redacted', () => {
    const reaction = ev(r, '$reaction') as ReactionEvent;
    expect(reaction).toMatchObject({
      kind: 'reaction',
      target: 'matrix:$text',
      reaction: { format: 'unicode', key: '👍' },
      sender: 'matrix:@carol:example.org',
    });
    const redaction = ev(r, '$redact') as RedactionEvent;
    expect(redaction).toMatchObject({ kind: 'redaction', target: 'matrix:$oops', reason: 'spam' });
    expect(r.events.find((e) => e.key === 'matrix:$oops')).toBeUndefined();
    expect(skipsOf(r, 'redacted')).toEqual(['$oops']);
  });

  it('maps name and topic state to room state events', () => {
    expect((ev(r, '$name') as RoomStateEvent).change).toEqual({
      field: 'name',
      name: 'Ferry Crew',
    });
    expect((ev(r, '$topic') as RoomStateEvent).change).toEqual({
      field: 'topic',
      topic: 'Boats and bytes',
    });
  });

  it('maps joins, invites, leaves and kicks; skips profile changes', () => {
    const m = (id: string) => ev(r, id) as MembershipEvent;
    expect(m('$alice-join')).toMatchObject({
      kind: 'membership',
      membership: 'join',
      target: 'matrix:@alice:example.org',
      sender: 'matrix:@alice:example.org',
    });
    expect(m('$carol-invite')).toMatchObject({
      membership: 'invite',
      target: 'matrix:@carol:example.org',
      sender: 'matrix:@alice:example.org',
    });
    expect(m('$carol-join').membership).toBe('join');
    expect(m('$carol-leave')).toMatchObject({
      membership: 'leave',
      target: 'matrix:@carol:example.org',
    });
    expect(m('$erin-kick')).toMatchObject({
      membership: 'kick',
      target: 'matrix:@erin:example.org',
      sender: 'matrix:@alice:example.org',
    });
    expect(r.events.find((e) => e.key === 'matrix:$bob-rename')).toBeUndefined();
  });

  it('counts undecryptable events and never emits them', () => {
    expect(skipsOf(r, 'undecryptable')).toEqual(['$utd', '$encrypted']);
    for (const id of ['$utd', '$encrypted']) {
      expect(r.events.find((e) => e.nativeId === id)).toBeUndefined();
    }
  });

  it('skips other state and unknown event types as unsupported, and empty messages as missing content', () => {
    expect(skipsOf(r, 'unsupported_event').sort()).toEqual(
      ['$create', '$power-levels', '$join-rules', '$bob-rename', '$poll', '$history'].sort(),
    );
    expect(skipsOf(r, 'missing_content')).toEqual(['$empty']);
  });

  it('accounts for every event of the document exactly once', () => {
    const accounted = new Set([
      ...r.events.map((e) => e.nativeId),
      ...r.skips.map((s) => idOf(s.where)),
    ]);
    expect(accounted.size).toBe(r.events.length + r.skips.length);
    expect(accounted.size).toBe(41);
  });
});

describe('Element adapter input forms', () => {
  let json: Collected;
  let rootZip: string;
  let zipped: Collected;
  beforeAll(async () => {
    json = await collect(elementExportItems(FIRST));
    rootZip = await firstAsZip({ rootFolder: true });
    zipped = await collect(elementExportItems(rootZip));
  });

  it('gives the same users, room and events for a zip with or without root folder and a folder', async () => {
    const flat = await collect(elementExportItems(await firstAsZip({ rootFolder: false })));
    const folder = await collect(elementExportItems(firstAsFolder()));
    for (const other of [zipped, flat, folder]) {
      expect(other.events).toEqual(json.events);
      expect(other.users).toEqual(json.users);
      expect(other.rooms).toEqual(json.rooms);
      expect(other.skips.map((s) => s.reason)).toEqual(json.skips.map((s) => s.reason));
    }
  });

  it('matches attachments to their events by Element’s naming rule', () => {
    const byEvent = new Map<string, string | undefined>();
    for (const e of zipped.events) {
      if (e.kind !== 'file') continue;
      byEvent.set(e.nativeId, zipped.media.find((m) => m.key === e.media)?.localPath);
    }
    const expected = new Map<string, string | undefined>(
      Object.entries(ATTACHMENTS).flatMap(([path, id]) =>
        id === undefined ? [] : [[id, `${ROOT}/${path}`]],
      ),
    );
    expected.set('$video', undefined);
    expect(byEvent).toEqual(expected);
    // Only the file Element dropped lacks a body.
    expect(
      zipped.losses.filter((l) => l.reason === 'file_body_not_in_export').map((l) => idOf(l.where)),
    ).toEqual(['$video']);
  });

  it('records paths the push side can open with the default archive reader', async () => {
    const reader = await openArchive(rootZip);
    try {
      for (const m of zipped.media) {
        if (m.localPath === undefined) continue;
        const body = (await reader.readBuffer(m.localPath)).toString();
        expect(body).toBe(attachmentBody(m.localPath.slice(ROOT.length + 1)));
      }
    } finally {
      await reader.close();
    }
  });

  it('finds the only JSON file when it is not called export.json', async () => {
    const zip = join(tempDir(), 'old.zip');
    writeFileSync(
      zip,
      await buildZip([
        {
          name: 'matrix-export-11-17-2021.json',
          data: await import('node:fs').then((f) => f.readFileSync(FIRST)),
        },
      ]),
    );
    const r = await collect(elementExportItems(zip));
    expect(r.events).toEqual(json.events);
  });
});

describe('Element adapter errors', () => {
  it('names a missing input', async () => {
    const e = await failure(elementExportItems('/nonexistent/export.json'));
    expect(e.code).toBe('input_not_found');
    expect(e.message).toContain('/nonexistent/export.json');
  });

  it('rejects a zip without an export JSON', async () => {
    const zip = join(tempDir(), 'photos.zip');
    writeFileSync(zip, await buildZip([{ name: 'images/a.png', data: 'x' }]));
    const e = await failure(elementExportItems(zip));
    expect(e.code).toBe('input_invalid');
    expect(e.message).toMatch(/photos\.zip: no export\.json/);
  });

  it('rejects a folder with several JSON files and no export.json', async () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'a.json'), '{}');
    writeFileSync(join(dir, 'b.json'), '{}');
    const e = await failure(elementExportItems(dir));
    expect(e.code).toBe('input_invalid');
    expect(e.message).toContain('a.json, b.json');
  });

  it('names the entry holding malformed JSON', async () => {
    const zip = join(tempDir(), 'broken.zip');
    writeFileSync(
      zip,
      await buildZip([
        { name: `${ROOT}/export.json`, data: '{"room_name": "x", "messages": [{"type": ' },
      ]),
    );
    const e = await failure(elementExportItems(zip));
    expect(e.code).toBe('input_invalid');
    expect(e.message).toContain(`broken.zip: ${ROOT}/export.json`);
    const bare = join(tempDir(), 'bad.json');
    writeFileSync(bare, '{"messages": [ {"a": 1}, }');
    const e2 = await failure(elementExportItems(bare));
    expect(e2.code).toBe('input_invalid');
    expect(e2.message).toMatch(/bad\.json is not valid JSON \(line 1, column 2\d: /);
  });

  it('rejects JSON that is not an Element export', async () => {
    const dir = tempDir();
    const array = join(dir, 'array.json');
    writeFileSync(array, '[1, 2]');
    expect((await failure(elementExportItems(array))).message).toContain(
      'top level is not an object',
    );
    const noMessages = join(dir, 'slack.json');
    writeFileSync(noMessages, '{"channels": [], "users": {"a": 1}}');
    expect((await failure(elementExportItems(noMessages))).message).toContain(
      'no "messages" array',
    );
    const notArray = join(dir, 'odd.json');
    writeFileSync(notArray, '{"messages": {"a": 1}}');
    expect((await failure(elementExportItems(notArray))).message).toContain(
      '"messages" is not an array',
    );
    const empty = writeExport([]);
    const e = await failure(elementExportItems(empty));
    expect(e.code).toBe('input_invalid');
    expect(e.message).toContain('room cannot be identified');
    rmSync(dir, { recursive: true, force: true });
  });
});

describe('Element adapter edge cases', () => {
  const A = '@alice:example.org';
  const B = '@bob:example.org';

  it('makes an unnamed two-person room a DM, and a room without join rules private', async () => {
    const dm = await collect(
      elementExportItems(
        writeExport(
          [
            event('$1', 'm.room.member', A, { membership: 'join' }, { state_key: A }),
            event(
              '$2',
              'm.room.member',
              A,
              { membership: 'invite', displayname: 'Bee' },
              { state_key: B },
            ),
            event('$3', 'm.room.message', A, { msgtype: 'm.text', body: 'hi' }),
          ],
          { room_name: 'Bee', exported_by: '@alice:example.org' },
        ),
      ),
    );
    expect(dm.rooms[0]).toMatchObject({ kind: 'dm', members: ['matrix:@alice:example.org'] });
    expect(dm.users.find((u) => u.key === 'matrix:@bob:example.org')).toMatchObject({
      displayName: 'Bee',
      isPlaceholder: false,
    });
    expect(dm.all[0]).toMatchObject({
      source: { key: 'element:!ferry:example.org:@alice:example.org' },
    });

    const group = await collect(
      elementExportItems(
        writeExport(
          [
            event('$1', 'm.room.member', A, { membership: 'join' }, { state_key: A }),
            event('$2', 'm.room.member', B, { membership: 'join' }, { state_key: B }),
            event('$3', 'm.room.name', A, { name: 'Ops' }, { state_key: '' }),
          ],
          { room_name: 'Ops' },
        ),
      ),
    );
    expect(group.rooms[0]).toMatchObject({ kind: 'private', name: 'Ops' });
    // No exported_by: the room ID alone names the source.
    expect(group.all[0]).toMatchObject({ source: { key: 'element:!ferry:example.org' } });
  });

  it('applies a bundled edit that an older exporter left unapplied, keeping the reply', async () => {
    const r = await collect(
      elementExportItems(
        writeExport([
          event('$1', 'm.room.message', A, { msgtype: 'm.text', body: 'original' }),
          event(
            '$2',
            'm.room.message',
            B,
            {
              msgtype: 'm.text',
              body: 'frist',
              'm.relates_to': { 'm.in_reply_to': { event_id: '$1' } },
            },
            {
              unsigned: {
                'm.relations': {
                  'm.replace': {
                    event_id: '$3',
                    sender: B,
                    origin_server_ts: 1714557609000,
                    content: {
                      body: '* first',
                      'm.new_content': { msgtype: 'm.text', body: 'first' },
                      'm.relates_to': { rel_type: 'm.replace', event_id: '$2' },
                    },
                  },
                },
              },
            },
          ),
          // A later, older edit of the same message must not roll it back.
          event('$4', 'm.room.message', B, {
            msgtype: 'm.text',
            body: '* frist!',
            'm.new_content': { msgtype: 'm.text', body: 'frist!' },
            'm.relates_to': { rel_type: 'm.replace', event_id: '$2' },
          }),
        ]),
      ),
    );
    expect(r.event('matrix:$2')).toMatchObject({
      content: { body: 'first' },
      replyTo: 'matrix:$1',
      edited: { at: 1714557609000, by: 'matrix:@bob:example.org' },
    });
    expect(r.events.map((e) => e.nativeId)).toEqual(['$1', '$2']);
  });

  it('handles captions, encrypted media, voice and missing URLs', async () => {
    const r = await collect(
      elementExportItems(
        writeExport([
          event('$1', 'm.room.message', A, {
            msgtype: 'm.image',
            body: 'look at **this**',
            format: 'org.matrix.custom.html',
            formatted_body: 'look at <b>this</b>',
            filename: 'boat.jpg',
            url: 'mxc://example.org/boat',
          }),
          event('$2', 'm.room.message', A, {
            msgtype: 'm.file',
            body: 'secret.txt',
            file: { url: 'mxc://example.org/enc', v: 'v2', key: {}, iv: '', hashes: {} },
          }),
          event('$3', 'm.room.message', A, { msgtype: 'm.file', body: 'nowhere.txt' }),
        ]),
      ),
    );
    expect(r.event('matrix:$1')).toMatchObject({
      kind: 'file',
      media: 'mxc://example.org/boat',
      caption: { format: 'matrix', body: 'look at **this**', formattedBody: 'look at <b>this</b>' },
    });
    expect(r.media.find((m) => m.key === 'mxc://example.org/boat')?.name).toBe('boat.jpg');
    // A bare JSON export holds no decrypted file for the encrypted one: skipped, per room.
    expect(r.events.some((e) => e.key === 'matrix:$2')).toBe(false);
    expect(r.skips.map((s) => [s.reason, idOf(s.where)])).toEqual([
      ['undecryptable', '$2'],
      ['missing_content', '$3'],
    ]);
  });

  it('handles membership corner cases, room v11 redactions and bad reactions', async () => {
    const r = await collect(
      elementExportItems(
        writeExport([
          event('$1', 'm.room.member', A, { membership: 'ban' }, { state_key: B }),
          event(
            '$2',
            'm.room.member',
            A,
            { membership: 'leave' },
            { state_key: B, unsigned: { prev_content: { membership: 'ban' } } },
          ),
          event('$3', 'm.room.member', B, { membership: 'knock' }, { state_key: B }),
          event('$4', 'm.room.redaction', A, { redacts: '$9', reason: '' }),
          event('$5', 'm.reaction', A, {
            'm.relates_to': { rel_type: 'm.annotation', event_id: '$9' },
          }),
          event('$6', 'm.room.name', A, { name: 'Elsewhere' }, { room_id: '!other:example.org' }),
          { type: 'm.room.message', content: { body: 'no id' } },
          event(
            '$7',
            'm.room.name',
            A,
            { name: 'Renamed' },
            { state_key: '', unsigned: { prev_content: { name: 'Old' } } },
          ),
        ]),
      ),
    );
    expect(r.event('matrix:$1')).toMatchObject({
      membership: 'ban',
      target: 'matrix:@bob:example.org',
    });
    const redaction = r.event('matrix:$4') as RedactionEvent;
    expect(redaction.target).toBe('matrix:$9');
    expect(redaction.reason).toBeUndefined();
    expect(r.event('matrix:$7')).toMatchObject({
      change: { field: 'name', name: 'Renamed', previous: 'Old' },
    });
    expect(r.skips.map((s) => [s.reason, idOf(s.where)])).toEqual([
      ['unsupported_event', '$2'], // unban
      ['unsupported_event', '$3'], // knock
      ['malformed_message', '$5'],
      ['malformed_message', '$6'],
      ['malformed_message', 'messages[6]'],
    ]);
  });

  it('reports thread replies whose root is not in the export', async () => {
    const r = await collect(
      elementExportItems(
        writeExport([
          event('$1', 'm.room.message', A, {
            msgtype: 'm.text',
            body: 'in a thread',
            'm.relates_to': {
              rel_type: 'm.thread',
              event_id: '$0',
              is_falling_back: true,
              'm.in_reply_to': { event_id: '$0' },
            },
          }),
          event('$2', 'm.room.message', A, {
            msgtype: 'm.text',
            body: 'again',
            'm.relates_to': {
              rel_type: 'm.thread',
              event_id: '$0',
              is_falling_back: true,
              'm.in_reply_to': { event_id: '$1' },
            },
          }),
        ]),
      ),
    );
    expect(r.event('matrix:$1').thread).toEqual({ root: 'matrix:$0', broadcast: false });
    expect(r.losses.filter((l) => l.reason === 'thread_root_missing')).toEqual([
      {
        type: 'loss',
        reason: 'thread_root_missing',
        where: expect.stringContaining('export.json'),
        count: 2,
      },
    ]);
  });

  it('keeps document order and sorts an out-of-order event by its own timestamp', async () => {
    const r = await collect(
      elementExportItems(
        writeExport([
          event('$5', 'm.room.message', A, { msgtype: 'm.text', body: 'five' }),
          event('$3', 'm.room.message', A, { msgtype: 'm.text', body: 'three' }),
          event('$7', 'm.room.message', A, { msgtype: 'm.text', body: 'seven' }),
        ]),
      ),
    );
    expect(r.events.map((e) => e.nativeId)).toEqual(['$5', '$3', '$7']);
    const sorted = [...r.events].sort((a, b) => (a.order < b.order ? -1 : 1));
    expect(sorted.map((e) => e.nativeId)).toEqual(['$3', '$5', '$7']);
  });
});

describe('Element adapter on an encrypted room', () => {
  it('carries an encrypted image whose decrypted file the export holds; counts the other per room', async () => {
    const r = await collect(elementExportItems(encryptedExport()));
    expect(ev(r, '$2')).toMatchObject({ kind: 'file', media: 'mxc://example.org/boat' });
    const boat = r.media.find((m) => m.key === 'mxc://example.org/boat');
    expect(boat).toMatchObject({
      availability: 'available',
      localPath: 'images/boat-5-1-2024 at 12-00-02 PM.png',
      mimetype: 'image/png',
    });
    // No event, no media record for the file the export lacks: a counted skip, per room.
    expect(r.events.some((e) => e.key === 'matrix:$3')).toBe(false);
    expect(r.media.some((m) => m.key === 'mxc://example.org/lost')).toBe(false);
    const lost = r.skips.filter((s) => idOf(s.where) === '$3');
    expect(lost).toEqual([
      expect.objectContaining({
        reason: 'undecryptable',
        undecryptable: { room: `matrix:${ENCRYPTED_ROOM_ID}`, why: 'attachment_not_in_export' },
      }),
    ]);
    expect(lost[0]?.where).toMatch(/lost\.png/);
    expect(r.losses).toEqual([]);
  });
});
