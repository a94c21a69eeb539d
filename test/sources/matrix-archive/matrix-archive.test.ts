import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { FerryError } from '../../../src/errors.js';
import type { SourceItem } from '../../../src/model/index.js';
import { orderKeyFromMillis } from '../../../src/model/index.js';
import { matrixArchiveItems } from '../../../src/sources/matrix-archive/index.js';
import { collect } from '../../support/collect.js';

const DIR = 'test/fixtures/matrix-archive';
const JSON_EXPORT = `${DIR}/export.json`;
const YAML_EXPORT = `${DIR}/export.yaml`;
const MONGO = `${DIR}/mongo.jsonl`;
const RAW = `${DIR}/Reef Survey_!reef:example.org.json`;
const BERLIN = { serverName: 'example.org', timezone: 'Europe/Berlin' };

const tmp = mkdtempSync(join(tmpdir(), 'ferry-matrix-archive-'));
const write = (name: string, text: string): string => {
  const path = join(tmp, name);
  writeFileSync(path, text);
  return path;
};

async function failure(items: AsyncIterable<SourceItem>): Promise<FerryError> {
  try {
    for await (const _ of items) {
      // drain
    }
  } catch (e) {
    if (e instanceof FerryError) return e;
    throw e;
  }
  throw new Error('expected a FerryError');
}

/** Items without file-specific parts (progress sizes, the file name in `where`). */
function comparable(all: SourceItem[]): unknown[] {
  return all.flatMap((item): unknown[] => {
    if (item.type === 'progress') return [];
    if (item.type === 'skip' || item.type === 'loss')
      return [{ ...item, where: item.where.replace(/^.*: /, '') }];
    return [item];
  });
}

describe('osteele/matrix-archive JSON export', () => {
  let r: Awaited<ReturnType<typeof collect>>;
  beforeAll(async () => {
    r = await collect(matrixArchiveItems(JSON_EXPORT, BERLIN));
  });

  it('keys the source and room by room ID', () => {
    expect(r.all[0]).toEqual({
      type: 'source',
      source: {
        key: 'matrix-archive:!reef:example.org',
        kind: 'matrix-archive',
        name: '!reef:example.org',
      },
    });
    expect(r.rooms).toEqual([
      {
        key: 'matrix:!reef:example.org',
        source: 'matrix-archive:!reef:example.org',
        nativeId: '!reef:example.org',
        kind: 'private',
        isArchived: false,
        isGeneral: false,
        members: [],
      },
    ]);
  });

  it('re-qualifies localpart senders with serverName, once each, as placeholders', () => {
    expect(r.users.map((u) => u.key)).toEqual([
      'matrix:@alice:example.org',
      'matrix:@bob:example.org',
      'matrix:@carol:example.org',
    ]);
    expect(r.users[0]).toMatchObject({
      nativeId: '@alice:example.org',
      displayName: 'alice',
      handle: 'alice',
      isPlaceholder: true,
      isBot: false,
    });
    expect(r.event('matrix:$e2').sender).toBe('matrix:@bob:example.org');
  });

  it('emits each user before the first event naming it', () => {
    const firstEvent = (user: string) =>
      r.all.findIndex((i) => i.type === 'event' && i.event.sender === user);
    const userAt = (user: string) =>
      r.all.findIndex((i) => i.type === 'user' && i.user.key === user);
    for (const user of r.users) expect(userAt(user.key)).toBeLessThan(firstEvent(user.key));
  });

  it('reads naive timestamps in the configured zone (summer −2h, winter −1h)', () => {
    // `2018-07-23T14:05:12.345000` Berlin (CEST) and `2018-12-24T10:30:00.250000` (CET).
    expect(r.event('matrix:$e1').ts).toBe(Date.UTC(2018, 6, 23, 12, 5, 12, 345));
    expect(r.event('matrix:$e5').ts).toBe(Date.UTC(2018, 11, 24, 9, 30, 0, 250));
    // Python omits a zero fraction: `2018-07-23T14:06:00`.
    expect(r.event('matrix:$e2').ts).toBe(Date.UTC(2018, 6, 23, 12, 6, 0));
  });

  it('orders events by timestamp then event ID', () => {
    const e1 = r.event('matrix:$e1');
    expect(e1.order).toBe(orderKeyFromMillis(e1.ts, '$e1'));
    expect(e1.order).toBe('01532347512345000.$e1');
  });

  it('maps text, HTML, notices and emotes to matrix-format messages', () => {
    expect(r.event('matrix:$e1')).toMatchObject({
      kind: 'message',
      msgtype: 'text',
      content: { format: 'matrix', body: 'Hello, reef team!' },
      source: 'matrix-archive:!reef:example.org',
      nativeId: '$e1',
      room: 'matrix:!reef:example.org',
    });
    expect(r.event('matrix:$e2')).toMatchObject({
      content: {
        format: 'matrix',
        body: 'Welcome **alice**',
        formattedBody: 'Welcome <strong>alice</strong>',
        htmlFormat: 'org.matrix.custom.html',
      },
    });
    expect(r.event('matrix:$e5')).toMatchObject({ kind: 'message', msgtype: 'emote' });
    expect(r.event('matrix:$e9')).toMatchObject({ kind: 'message', msgtype: 'notice' });
  });

  it('rebuilds the mxc URI of rewritten media URLs from the path, not the host', () => {
    expect(r.event('matrix:$e3')).toMatchObject({
      kind: 'file',
      media: 'mxc://example.org/AbCdEfReef',
    });
    expect(r.event('matrix:$e3')).not.toHaveProperty('caption');
    expect(r.media).toEqual([
      {
        key: 'mxc://example.org/AbCdEfReef',
        source: 'matrix-archive:!reef:example.org',
        nativeId: 'mxc://example.org/AbCdEfReef',
        availability: 'available',
        mode: 'm.image',
        name: 'reef.jpg',
        mimetype: 'image/jpeg',
        size: 52311,
        width: 800,
        height: 600,
      },
    ]);
    const mediaAt = r.all.findIndex((i) => i.type === 'media');
    const fileAt = r.all.findIndex((i) => i.type === 'event' && i.event.key === 'matrix:$e3');
    expect(mediaAt).toBeLessThan(fileAt);
  });

  it('undoes the • key mangling: replies, edits and threads keep their relations', () => {
    const reply = r.event('matrix:$e4');
    expect(reply.replyTo).toBe('matrix:$e3');
    // The quoted reply fallback goes; the relation carries the reply.
    expect(reply).toMatchObject({
      kind: 'message',
      content: { body: 'Gorgeous!', formattedBody: 'Gorgeous!' },
    });
    expect(r.event('matrix:$e8')).toMatchObject({
      kind: 'edit',
      target: 'matrix:$e1',
      content: { format: 'matrix', body: 'Hello, reef team! 🐠' },
    });
    const threaded = r.event('matrix:$e9');
    expect(threaded.thread).toEqual({ root: 'matrix:$e2', broadcast: false });
    expect(threaded.replyTo).toBeUndefined(); // is_falling_back: the in_reply_to is not a reply
  });

  it('skips feedback, redacted husks and records whose content the exporter dropped', () => {
    expect(r.skips.map((s) => [s.reason, s.where.replace(/^.*: /, '')])).toEqual([
      ['unsupported_event', '$fb1'],
      ['redacted', '$e10'],
      ['missing_content', '$e6'],
    ]);
    expect(r.skips[0]?.where).toBe(`${JSON_EXPORT}: $fb1`);
    expect(r.events.map((e) => e.key)).toEqual([
      'matrix:$e1',
      'matrix:$e2',
      'matrix:$e3',
      'matrix:$e4',
      'matrix:$e8',
      'matrix:$e9',
      'matrix:$e5',
    ]);
  });

  it('ends with a progress item over the file’s bytes', () => {
    const last = r.all.at(-1);
    expect(last).toMatchObject({ type: 'progress', unit: 'bytes' });
    if (last?.type === 'progress') expect(last.done).toBe(last.total);
  });
});

describe('osteele/matrix-archive YAML export', () => {
  it('gives exactly the items of the JSON export', async () => {
    const json = await collect(matrixArchiveItems(JSON_EXPORT, BERLIN));
    const yaml = await collect(matrixArchiveItems(YAML_EXPORT, BERLIN));
    expect(yaml.events.length).toBe(7);
    expect(yaml.events).toEqual(json.events);
    expect(comparable(yaml.all)).toEqual(comparable(json.all));
  });

  it('keeps unquoted timestamps naive and reads document markers', async () => {
    const path = write(
      'unquoted.yaml',
      [
        '---',
        '- content: {body: hi, msgtype: m.text}',
        '  event_id: $u1',
        '  messageType: m.room.message',
        "  room_id: '!reef:example.org'",
        '  sender: alice',
        '  timestamp: 2018-07-23T14:05:12.345000',
        '  user_id: null',
        '...',
        '',
      ].join('\n'),
    );
    const r = await collect(matrixArchiveItems(path, BERLIN));
    expect(r.event('matrix:$u1').ts).toBe(Date.UTC(2018, 6, 23, 12, 5, 12, 345));
  });

  it('detects YAML by content whatever the file is called', async () => {
    const { readFileSync } = await import('node:fs');
    const path = write('export-yaml.json', readFileSync(YAML_EXPORT, 'utf8'));
    const r = await collect(matrixArchiveItems(path, BERLIN));
    expect(r.events.length).toBe(7);
  });
});

describe('options', () => {
  it('defaults to UTC: naive times are taken as they are', async () => {
    const r = await collect(matrixArchiveItems(JSON_EXPORT, { serverName: 'example.org' }));
    expect(r.event('matrix:$e1').ts).toBe(Date.UTC(2018, 6, 23, 14, 5, 12, 345));
    expect(r.event('matrix:$e5').ts).toBe(Date.UTC(2018, 11, 24, 10, 30, 0, 250));
  });

  it('requires serverName for exports, naming the option', async () => {
    for (const path of [JSON_EXPORT, YAML_EXPORT]) {
      const e = await failure(matrixArchiveItems(path, { timezone: 'Europe/Berlin' }));
      expect(e.code).toBe('config_invalid');
      expect(e.message).toContain('serverName');
      expect(e.message).toContain(path);
    }
  });

  it('does not need serverName for MongoDB dumps and raw events', async () => {
    expect((await collect(matrixArchiveItems(MONGO))).events.length).toBe(8);
    expect((await collect(matrixArchiveItems(RAW))).events.length).toBe(13);
  });

  it('rejects an unknown time zone and a malformed server name', async () => {
    const zone = await failure(
      matrixArchiveItems(JSON_EXPORT, { ...BERLIN, timezone: 'Mars/Olympus' }),
    );
    expect(zone.code).toBe('config_invalid');
    expect(zone.message).toContain('timezone');
    const server = await failure(
      matrixArchiveItems(JSON_EXPORT, { serverName: 'https://example.org/' }),
    );
    expect(server.code).toBe('config_invalid');
    expect(server.message).toContain('serverName');
  });
});

describe('mongoexport of the message collection', () => {
  let r: Awaited<ReturnType<typeof collect>>;
  beforeAll(async () => {
    r = await collect(matrixArchiveItems(MONGO, { timezone: 'Europe/Berlin' }));
  });

  it('gives the events of the export, with full senders and the same times', async () => {
    const json = await collect(matrixArchiveItems(JSON_EXPORT, BERLIN));
    const shared = r.events.filter((e) => e.key !== 'matrix:$e6');
    expect(shared).toEqual(json.events);
    expect(r.media[0]).toEqual(json.media[0]); // canonical `$date`/`$numberInt` on this one
    expect(r.users.map((u) => u.nativeId)).toEqual([
      '@alice:example.org',
      '@bob:example.org',
      '@carol:example.org',
    ]);
  });

  it('reads $date as the naive local time it is (shifted by the zone)', async () => {
    const utc = await collect(matrixArchiveItems(MONGO));
    expect(utc.event('matrix:$e1').ts - r.event('matrix:$e1').ts).toBe(2 * 3_600_000);
    expect(utc.event('matrix:$e5').ts - r.event('matrix:$e5').ts).toBe(3_600_000);
  });

  it('links media whose URL is not Matrix media as external', () => {
    expect(r.event('matrix:$e6')).toMatchObject({
      kind: 'file',
      media: 'https://files.example.com/plan.pdf',
    });
    expect(r.media.find((m) => m.key === 'https://files.example.com/plan.pdf')).toMatchObject({
      availability: 'external',
      remoteUrl: 'https://files.example.com/plan.pdf',
      name: 'plan.pdf',
    });
  });

  it('also reads mongoexport --jsonArray output and legacy numeric $date', async () => {
    const path = write(
      'array.json',
      JSON.stringify([
        {
          _id: { $oid: '5b55e3a8c1a2b30000000000' },
          room_id: '!reef:example.org',
          event_id: '$x1',
          sender: '@dan:example.org',
          type: 'm.room.message',
          timestamp: { $date: Date.UTC(2018, 0, 15, 9, 0, 0) },
          content: { msgtype: 'm.text', body: 'hi', 'm•mentions': { user_ids: [] } },
        },
      ]),
    );
    const a = await collect(matrixArchiveItems(path, { timezone: 'Europe/Berlin' }));
    expect(a.event('matrix:$x1')).toMatchObject({
      ts: Date.UTC(2018, 0, 15, 8, 0, 0),
      sender: 'matrix:@dan:example.org',
    });
  });
});

describe('russelldavies/matrix-archive raw events', () => {
  let r: Awaited<ReturnType<typeof collect>>;
  beforeAll(async () => {
    r = await collect(matrixArchiveItems(RAW));
  });

  it('reads both arrays written back to back', () => {
    expect(r.events.map((e) => e.nativeId)).toEqual([
      '$m-alice',
      '$name',
      '$m-bob',
      '$e1',
      '$e2',
      '$e3',
      '$r1',
      '$e4', // last of the first array
      '$e8', // first of the second
      '$e9',
      '$red',
      '$e6',
      '$e5',
    ]);
  });

  it('takes origin_server_ts as it is', () => {
    expect(r.event('matrix:$e1').ts).toBe(Date.UTC(2018, 6, 23, 12, 5, 12, 345));
  });

  it('names the room from the file name and users from _sender_name', () => {
    expect(r.rooms[0]).toMatchObject({ key: 'matrix:!reef:example.org', name: 'Reef Survey' });
    expect(r.all[0]).toMatchObject({ source: { name: 'Reef Survey' } });
    expect(r.users.find((u) => u.nativeId === '@alice:example.org')).toMatchObject({
      displayName: 'Alice Liddell',
      handle: 'alice',
      isPlaceholder: false,
    });
    expect(r.users.find((u) => u.nativeId === '@carol:example.org')).toMatchObject({
      displayName: 'carol',
      isPlaceholder: true,
    });
  });

  it('maps reactions, redactions, membership and room names', () => {
    expect(r.event('matrix:$r1')).toMatchObject({
      kind: 'reaction',
      target: 'matrix:$e1',
      reaction: { format: 'unicode', key: '👍' },
      sender: 'matrix:@bob:example.org',
    });
    expect(r.event('matrix:$red')).toMatchObject({
      kind: 'redaction',
      target: 'matrix:$e10',
      reason: 'typo',
    });
    expect(r.event('matrix:$m-bob')).toMatchObject({
      kind: 'membership',
      membership: 'join',
      target: 'matrix:@bob:example.org',
    });
    expect(r.event('matrix:$name')).toMatchObject({
      kind: 'room_state',
      change: { field: 'name', name: 'Reef Survey' },
    });
  });

  it('skips encrypted, redacted and unsupported events', () => {
    expect(r.skips.map((s) => [s.reason, s.where.replace(/^.*: /, '')])).toEqual([
      ['unsupported_event', '$create'],
      ['undecryptable', '$enc'],
      ['redacted', '$e10'],
    ]);
  });

  it('agrees with the export on the events both hold', async () => {
    const json = await collect(matrixArchiveItems(JSON_EXPORT, BERLIN));
    for (const event of json.events) expect(r.event(event.key)).toEqual(event);
  });

  it('takes the room from the file name when events lack room_id', async () => {
    const dir = join(tmp, 'raw');
    mkdirSync(dir, { recursive: true });
    const event = {
      type: 'm.room.message',
      sender: '@erin:example.org',
      event_id: '$noroom',
      origin_server_ts: 1_600_000_000_000,
      content: { msgtype: 'm.text', body: 'no room_id here' },
    };
    const path = join(dir, 'Side Room_!side:example.org.json');
    writeFileSync(path, JSON.stringify([event]) + JSON.stringify([]));
    const s = await collect(matrixArchiveItems(path));
    expect(s.rooms[0]).toMatchObject({ key: 'matrix:!side:example.org', name: 'Side Room' });
    expect(s.event('matrix:$noroom').room).toBe('matrix:!side:example.org');
  });

  it('handles other membership changes, threads with real replies and odd messages', async () => {
    const base = { room_id: '!x:example.org', origin_server_ts: 1_600_000_000_000 };
    const events = [
      {
        ...base,
        event_id: '$k',
        type: 'm.room.member',
        sender: '@mod:example.org',
        state_key: '@bad:example.org',
        content: { membership: 'leave' },
      },
      {
        ...base,
        event_id: '$l',
        type: 'm.room.member',
        sender: '@bad:example.org',
        state_key: '@bad:example.org',
        content: { membership: 'leave' },
      },
      {
        ...base,
        event_id: '$p',
        type: 'm.room.member',
        sender: '@mod:example.org',
        state_key: '@mod:example.org',
        content: { membership: 'join', displayname: 'Mod' },
        unsigned: { prev_content: { membership: 'join' } },
      },
      {
        ...base,
        event_id: '$t',
        type: 'm.room.message',
        sender: '@mod:example.org',
        content: {
          msgtype: 'm.text',
          body: 'in thread',
          'm.relates_to': {
            rel_type: 'm.thread',
            event_id: '$root',
            is_falling_back: false,
            'm.in_reply_to': { event_id: '$other' },
          },
        },
      },
      {
        ...base,
        event_id: '$loc',
        type: 'm.room.message',
        sender: '@mod:example.org',
        content: { msgtype: 'm.location', body: 'Reef at 1,2', geo_uri: 'geo:1,2' },
      },
      {
        ...base,
        event_id: '$bad',
        type: 'm.room.message',
        sender: '@mod:example.org',
        content: { msgtype: 'm.bad.encrypted', body: '** Unable to decrypt **' },
      },
      {
        ...base,
        event_id: '$call',
        type: 'm.call.invite',
        sender: '@mod:example.org',
        content: {},
      },
      {
        ...base,
        event_id: '$topic',
        type: 'm.room.topic',
        sender: '@mod:example.org',
        state_key: '',
        content: { topic: 'Corals' },
      },
      {
        ...base,
        event_id: '$enc-file',
        type: 'm.room.message',
        sender: '@mod:example.org',
        content: {
          msgtype: 'm.file',
          body: 'notes.txt',
          file: { url: 'mxc://example.org/Enc', v: 'v2' },
        },
      },
      {
        ...base,
        event_id: '$cap',
        type: 'm.room.message',
        sender: '@mod:example.org',
        content: {
          msgtype: 'm.image',
          body: 'look at this',
          filename: 'a.png',
          url: 'mxc://example.org/Cap',
        },
      },
    ];
    const path = write('misc.json', JSON.stringify(events));
    const s = await collect(matrixArchiveItems(path));
    expect(s.event('matrix:$k')).toMatchObject({
      membership: 'kick',
      target: 'matrix:@bad:example.org',
      sender: 'matrix:@mod:example.org',
    });
    expect(s.event('matrix:$l')).toMatchObject({ membership: 'leave' });
    expect(s.event('matrix:$t')).toMatchObject({
      thread: { root: 'matrix:$root' },
      replyTo: 'matrix:$other',
    });
    expect(s.event('matrix:$loc')).toMatchObject({
      kind: 'message',
      msgtype: 'text',
      subtype: 'm.location',
      content: { body: 'Reef at 1,2' },
    });
    expect(s.event('matrix:$topic')).toMatchObject({ change: { field: 'topic', topic: 'Corals' } });
    expect(s.event('matrix:$enc-file')).toMatchObject({
      kind: 'file',
      media: 'mxc://example.org/Enc',
    });
    expect(s.losses).toEqual([
      {
        type: 'loss',
        reason: 'file_body_not_in_export',
        where: `${path}: $enc-file (encrypted file)`,
      },
    ]);
    expect(s.event('matrix:$cap')).toMatchObject({
      kind: 'file',
      caption: { format: 'matrix', body: 'look at this' },
    });
    expect(s.media.find((m) => m.key === 'mxc://example.org/Cap')?.name).toBe('a.png');
    expect(s.skips.map((x) => [x.reason, x.where.replace(/^.*: /, '')])).toEqual([
      ['unsupported_event', '$p'], // a display name change
      ['undecryptable', '$bad'],
      ['unsupported_event', '$call'],
    ]);
    // The kicked user is a user too, emitted before the kick.
    const kickedAt = s.all.findIndex(
      (i) => i.type === 'user' && i.user.nativeId === '@bad:example.org',
    );
    const kickAt = s.all.findIndex((i) => i.type === 'event' && i.event.key === 'matrix:$k');
    expect(kickedAt).toBeGreaterThanOrEqual(0);
    expect(kickedAt).toBeLessThan(kickAt);
  });
});

describe('bad input', () => {
  it('names a missing path', async () => {
    const e = await failure(matrixArchiveItems(join(tmp, 'nope.json'), BERLIN));
    expect(e.code).toBe('input_not_found');
    expect(e.message).toContain('nope.json');
  });

  it('rejects content that is none of the three forms, naming the file and what was expected', async () => {
    const path = write('other.json', JSON.stringify([{ hello: 'world' }]));
    const e = await failure(matrixArchiveItems(path, BERLIN));
    expect(e.code).toBe('input_unsupported');
    expect(e.message).toContain(path);
    expect(e.message).toContain('expected');
    const text = await failure(matrixArchiveItems(write('notes.txt', 'just some notes\n'), BERLIN));
    expect(text.code).toBe('input_unsupported');
    expect((await failure(matrixArchiveItems(write('empty.json', '  \n'), BERLIN))).code).toBe(
      'input_unsupported',
    );
    expect((await failure(matrixArchiveItems(tmp, BERLIN))).code).toBe('input_unsupported');
  });

  it('explains that russelldavies YAML logs have no event IDs', async () => {
    const path = write(
      'log.yaml',
      "- body: hi\n  sender_id: '@a:example.org'\n  sender_name: A <@a:example.org>\n  timestamp: 1600000000000\n  type: text\n",
    );
    const e = await failure(matrixArchiveItems(path, BERLIN));
    expect(e.code).toBe('input_unsupported');
    expect(e.message).toContain('no event IDs');
  });

  it('names the file and position of malformed JSON', async () => {
    const path = write(
      'broken.json',
      '[\n  {"room_id": "!r:example.org", "event_id": "$a", "sender": "a",\n   "timestamp": "2018-01-01T00:00:00", "content": {"body": tru}}\n]',
    );
    const e = await failure(matrixArchiveItems(path, BERLIN));
    expect(e.code).toBe('input_invalid');
    expect(e.message).toContain(path);
    expect(e.message).toMatch(/line 3, column \d+/);
  });

  it('names the file and line of malformed YAML', async () => {
    const path = write(
      'broken.yaml',
      "- content: {body: ok, msgtype: m.text}\n  event_id: $a\n  room_id: '!r:example.org'\n  sender: a\n  timestamp: '2018-01-01T00:00:00'\n- content: {body: [unclosed\n  event_id: $b\n",
    );
    const e = await failure(matrixArchiveItems(path, BERLIN));
    expect(e.code).toBe('input_invalid');
    expect(e.message).toContain(path);
    expect(e.message).toMatch(/line [67]/);
  });

  it('skips malformed records after the first and goes on', async () => {
    const good = {
      room_id: '!r:example.org',
      event_id: '$ok',
      sender: 'a',
      timestamp: '2018-01-01T00:00:00',
      content: { msgtype: 'm.text', body: 'ok' },
    };
    const path = write(
      'partly.json',
      JSON.stringify([
        good,
        { ...good, event_id: 'no-dollar' },
        { ...good, event_id: '$t', timestamp: 'yesterday' },
        7,
      ]),
    );
    const r = await collect(matrixArchiveItems(path, BERLIN));
    expect(r.events.map((e) => e.key)).toEqual(['matrix:$ok']);
    expect(r.skips.map((s) => s.reason)).toEqual([
      'malformed_message',
      'malformed_message',
      'malformed_message',
    ]);
    expect(r.skips[1]?.where).toBe(`${path}: record 3: $t: unreadable timestamp`);
  });
});
