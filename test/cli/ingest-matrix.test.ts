/**
 * `ferry ingest matrix` as a user runs it: a real `ferry` child against a second real Synapse
 * (the source), holding history made over the client-server API by users with their own access
 * tokens, and an encrypted room made by the real E2EE client (the rust crypto stack Element
 * uses). The store is checked row by row against what the source server shows, then pushed into
 * the target Synapse and read back.
 */
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sanitizeLocalpart } from '../../src/mapping/identity.js';
import { runIngest } from '../../src/cli/commands/ingest.js';
import { runIngestMatrix, type IngestMatrixReport } from '../../src/cli/commands/ingest-matrix.js';
import { loadRoomKeys } from '../../src/e2ee/room-keys.js';
import { silentLogger } from '../../src/logger.js';
import type { MatrixLiveReport } from '../../src/sources/matrix-live/index.js';
import { openStore, type Store } from '../../src/store/store.js';
import { createPostgresDatabase } from '../support/databases.js';
import { E2eeClient } from '../support/e2ee-client.js';
import { SourceUser } from '../support/matrix-source.js';
import { AdminReader, TEST_PREFIX, writeFerryConfig } from '../support/migration.js';
import { runCli, startCli } from '../support/run-cli.js';
import { sharedSynapse, startSynapse, type SynapseHandle } from '../support/synapse.js';

const PASS = 'keys of the source room';
const PNG = Buffer.concat([Buffer.from('89504e470d0a1a0a', 'hex'), randomBytes(3000)]);
const SECRET_IMAGE = randomBytes(20_000);

let source: SynapseHandle;
let alice: SourceUser;
let bob: SourceUser;
let carol: SourceUser;
let e2ee: E2eeClient;
const rooms = { general: '', wall: '', secret: '', bobOnly: '' };
const ids = {} as Record<
  | 'hello'
  | 'hi'
  | 'root'
  | 'reply'
  | 'reaction'
  | 'edit'
  | 'oops'
  | 'redaction'
  | 'image'
  | 'rename'
  | 'late'
  | 'secretImage'
  | 'lastSecret',
  string
>;
let imageMxc = '';
let partialKeys = '';
let work = '';
const drops: (() => Promise<void>)[] = [];
const stores: Store[] = [];

async function database(): Promise<string> {
  const db = await createPostgresDatabase();
  drops.push(db.drop);
  return db.url;
}

async function generalHistory(): Promise<void> {
  const g = await alice.createRoom({
    preset: 'public_chat',
    name: 'General',
    topic: 'all things',
    room_alias_name: 'src-general',
  });
  rooms.general = g;
  ids.hello = await alice.text(g, 'hello');
  await bob.join(g);
  ids.hi = await bob.text(g, 'hi alice');
  ids.root = await alice.text(g, 'thread root');
  ids.reply = await bob.text(g, 'in the thread', {
    'm.relates_to': {
      rel_type: 'm.thread',
      event_id: ids.root,
      is_falling_back: true,
      'm.in_reply_to': { event_id: ids.root },
    },
  });
  ids.reaction = await bob.send(g, 'm.reaction', {
    'm.relates_to': { rel_type: 'm.annotation', event_id: ids.hello, key: '👍' },
  });
  for (let i = 0; i < 40; i++) await (i % 2 === 0 ? alice : bob).text(g, `filler ${i}`);
  ids.edit = await alice.text(g, '* hello, edited', {
    'm.new_content': { msgtype: 'm.text', body: 'hello, edited' },
    'm.relates_to': { rel_type: 'm.replace', event_id: ids.hello },
  });
  ids.oops = await bob.text(g, 'oops, wrong room');
  ids.redaction = await bob.redact(g, ids.oops, 'mistake');
  imageMxc = await alice.upload(PNG, 'image/png', 'chart.png');
  ids.image = await alice.send(g, 'm.room.message', {
    msgtype: 'm.image',
    body: 'chart.png',
    url: imageMxc,
    info: { mimetype: 'image/png', size: PNG.length, w: 10, h: 10 },
  });
  ids.rename = await alice.state(g, 'm.room.name', { name: 'General chat' });
  await carol.join(g);
  ids.late = await carol.text(g, 'sorry I am late');
}

async function otherRooms(): Promise<void> {
  rooms.bobOnly = await bob.createRoom({ preset: 'private_chat', name: 'Bob alone' });
  await bob.text(rooms.bobOnly, 'nobody else reads this');
  rooms.wall = await carol.createRoom({
    preset: 'private_chat',
    name: 'Walled',
    initial_state: [
      {
        type: 'm.room.history_visibility',
        state_key: '',
        content: { history_visibility: 'joined' },
      },
    ],
  });
  for (let i = 0; i < 3; i++) await carol.text(rooms.wall, `before alice ${i}`);
  await carol.invite(rooms.wall, alice.userId);
  await alice.join(rooms.wall);
  await carol.text(rooms.wall, 'after alice joined');
}

/** 5 texts, the encrypted image, a text; megolm rotates every 3: the last session holds one. */
async function secretRoom(): Promise<void> {
  e2ee = await E2eeClient.register({
    baseUrl: source.baseUrl,
    asToken: source.registration.as_token,
    localpart: '_ferry_src_dora',
    serverName: source.serverName,
  });
  rooms.secret = await e2ee.createEncryptedRoom('secret plans');
  await e2ee.api('POST', `/_matrix/client/v3/rooms/${encodeURIComponent(rooms.secret)}/invite`, {
    user_id: alice.userId,
  });
  await alice.join(rooms.secret);
  const send = (content: unknown) => e2ee.sendEncrypted(rooms.secret, 'm.room.message', content, 3);
  for (let i = 0; i < 5; i++) await send({ msgtype: 'm.text', body: `secret ${i}` });
  const file = await e2ee.uploadEncrypted(SECRET_IMAGE);
  ids.secretImage = await send({
    msgtype: 'm.image',
    body: 'plan.png',
    info: { mimetype: 'image/png', size: SECRET_IMAGE.length },
    file,
  });
  ids.lastSecret = await send({ msgtype: 'm.text', body: 'secret 6' });
  const timeline = await alice.timeline(rooms.secret);
  const last = timeline.find((e) => e['event_id'] === ids.lastSecret);
  const lastSession = (last?.['content'] as { session_id: string }).session_id;
  partialKeys = join(work, 'partial-keys.txt');
  await writeFile(partialKeys, await e2ee.exportRoomKeys(PASS, (id) => id !== lastSession));
}

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'ferry-ingest-matrix-'));
  source = await startSynapse({ serverName: 'source.test' });
  alice = await SourceUser.register(source, '_ferry_src_alice');
  bob = await SourceUser.register(source, '_ferry_src_bob');
  carol = await SourceUser.register(source, '_ferry_src_carol');
  await generalHistory();
  await otherRooms();
  await secretRoom();
}, 180_000);

afterAll(async () => {
  e2ee?.close();
  for (const s of stores) await s.close();
  for (const d of drops) await d();
  await source?.stop();
});

const ingestArgs = (url: string, media: string, ...more: string[]) => [
  '--database',
  url,
  'ingest',
  'matrix',
  '--homeserver',
  source.baseUrl,
  '--media-dir',
  media,
  ...more,
];

async function ingestJson(
  url: string,
  media: string,
  ...more: string[]
): Promise<Record<string, unknown>> {
  const r = await runCli([...ingestArgs(url, media, ...more), '--json'], {
    MATRIX_TOKEN: alice.token,
    FERRY_ROOM_KEYS_PASSPHRASE: PASS,
  });
  expect(r.code, r.stderr).toBe(0);
  expect(r.stdout + r.stderr).not.toContain(alice.token);
  return JSON.parse(r.stdout) as Record<string, unknown>;
}

/**
 * The same ingest in this process (no child start-up): for the runs whose CLI side another
 * test already covers.
 */
async function ingestHere(
  url: string,
  media: string,
  o: {
    rooms?: string[];
    space?: string;
    keys?: boolean;
    pageSize?: number;
    env?: NodeJS.ProcessEnv;
  } = {},
): Promise<IngestMatrixReport> {
  const keys = o.keys === true ? await loadRoomKeys(partialKeys, PASS) : undefined;
  return runIngestMatrix(await storeOf(url, true), {
    logger: silentLogger,
    homeserver: source.baseUrl,
    mediaDir: media,
    progress: false,
    env: o.env ?? { MATRIX_TOKEN: alice.token },
    ...(o.rooms === undefined ? {} : { rooms: o.rooms }),
    ...(o.space === undefined ? {} : { space: o.space }),
    ...(keys === undefined ? {} : { decryptor: keys.decryptor }),
    ...(o.pageSize === undefined ? {} : { pageSize: o.pageSize }),
  });
}

/** One store (one connection pool) per database, opened on first use. */
const storeByUrl = new Map<string, Promise<Store>>();
function storeOf(url: string, migrate = false): Promise<Store> {
  let store = storeByUrl.get(url);
  if (store === undefined) {
    store = openStore({ databaseUrl: url, migrate });
    storeByUrl.set(url, store);
    void store.then((s) => stores.push(s));
  }
  return store;
}

interface MediaRow {
  local_path: string;
}

interface Row {
  key: string;
  kind: string;
  sender: string;
  thread_root: string | null;
  payload: Record<string, unknown>;
}

async function eventsOf(url: string, roomId: string): Promise<Map<string, Row>> {
  const store = await storeOf(url);
  const rows = (await store
    .knex('events')
    .where({ room_key: `matrix:${roomId}` })
    .orderBy('order_key')
    .select('key', 'kind', 'sender', 'thread_root', 'payload')) as Row[];
  return new Map(rows.map((r) => [r.key.replace(/^matrix:/, ''), r]));
}

describe('ferry ingest matrix against a real source Synapse', () => {
  let db = '';
  let media = '';
  let first: Record<string, unknown>;

  it('reads every joined room back to its start: messages, thread, reaction, edit, redaction, image, state, late member', async () => {
    db = await database();
    media = join(work, 'media');
    first = await ingestJson(db, media, '--page-size', '10', '--room-keys', partialKeys);
    const hs = first['homeserver'] as MatrixLiveReport;
    expect(hs.user_id).toBe(alice.userId);
    expect(hs.rooms).toEqual({ listed: 3, read: 3, skipped: {} });
    expect(hs.per_room[rooms.general]?.history_start).toBe('creation');
    expect(hs.per_room[rooms.secret]?.history_start).toBe('creation');

    const events = await eventsOf(db, rooms.general);
    const timeline = await alice.timeline(rooms.general);
    // Every message, reaction and membership the server shows is stored, once, under its ID.
    const carried = timeline.filter((e) =>
      ['m.room.message', 'm.reaction', 'm.room.member', 'm.room.name', 'm.room.topic'].includes(
        e['type'] as string,
      ),
    );
    for (const e of carried) {
      const id = e['event_id'] as string;
      const unsigned = e['unsigned'] as Record<string, unknown> | undefined;
      const content = e['content'] as { 'm.relates_to'?: { rel_type?: string } };
      const isEdit = content['m.relates_to']?.rel_type === 'm.replace';
      if (unsigned?.['redacted_because'] !== undefined || isEdit) {
        expect(events.has(id), id).toBe(false);
      } else expect(events.has(id), `${id} ${String(e['type'])}`).toBe(true);
    }
    const hello = events.get(ids.hello);
    expect(hello?.payload['content']).toMatchObject({ body: 'hello, edited' });
    expect(hello?.payload['edited']).toBeDefined();
    expect(events.get(ids.reply)?.thread_root).toBe(`matrix:${ids.root}`);
    expect(events.get(ids.reaction)).toMatchObject({
      kind: 'reaction',
      payload: { target: `matrix:${ids.hello}`, reaction: { key: '👍' } },
    });
    expect(events.get(ids.redaction)).toMatchObject({ kind: 'redaction' });
    expect(events.has(ids.oops)).toBe(false);
    expect(events.get(ids.rename)).toMatchObject({ kind: 'room_state' });
    expect(events.get(ids.late)?.sender).toBe(`matrix:${carol.userId}`);
    const carolJoin = [...events.values()].find(
      (r) => r.kind === 'membership' && r.payload['target'] === `matrix:${carol.userId}`,
    );
    expect(carolJoin?.payload['membership']).toBe('join');

    // The image body, fetched through authenticated media, is in the media folder.
    const store = await storeOf(db);
    const row = (await store.knex('media').where({ key: imageMxc }).first()) as MediaRow;
    expect(row.local_path).toBe(imageMxc.replace('mxc://', ''));
    expect((await readFile(join(media, row.local_path))).equals(PNG)).toBe(true);
    const room = (await store
      .knex('rooms')
      .where({ key: `matrix:${rooms.general}` })
      .first()) as Record<string, unknown>;
    expect(room).toMatchObject({ name: 'General chat', topic: 'all things', kind: 'channel' });
  }, 120_000);

  it('encrypted room: decrypted with the key export, the image decrypted to its bytes, the session left out counted no_key', async () => {
    expect(first['undecryptable']).toEqual({ [`matrix:${rooms.secret}`]: { no_key: 1 } });
    expect(first['room_keys']).toMatchObject({ events: { decrypted: 6, no_key: 1, failed: 0 } });
    const events = await eventsOf(db, rooms.secret);
    const bodies = [...events.values()]
      .filter((r) => r.kind === 'message')
      .map((r) => (r.payload['content'] as { body: string }).body);
    expect(bodies).toEqual(['secret 0', 'secret 1', 'secret 2', 'secret 3', 'secret 4']);
    expect(events.has(ids.lastSecret)).toBe(false);
    const image = events.get(ids.secretImage);
    expect(image?.kind).toBe('file');
    const store = await storeOf(db);
    const row = (await store
      .knex('media')
      .where({ key: image?.payload['media'] })
      .first()) as MediaRow;
    expect((await readFile(join(media, row.local_path))).equals(SECRET_IMAGE)).toBe(true);
  });

  it('a room whose history visibility hides older events: read from the wall, reported', async () => {
    const hs = first['homeserver'] as MatrixLiveReport;
    // Hidden from alice: what came after `joined` took effect and before her join (the room
    // name, three messages, her invite); the creation state before it stays visible.
    expect(hs.per_room[rooms.wall]).toMatchObject({
      history_start: 'visibility_wall',
      hidden_events: 5,
    });
    expect(hs.per_room[rooms.general]?.hidden_events).toBeUndefined();
    const bodies = [...(await eventsOf(db, rooms.wall)).values()]
      .filter((r) => r.kind === 'message')
      .map((r) => (r.payload['content'] as { body: string }).body);
    expect(bodies).toEqual(['after alice joined']);
  });

  it('a rerun reads nothing new; after more messages it reads only those', async () => {
    const again = await ingestHere(db, media, { keys: true, pageSize: 10 });
    expect(again.added.events).toBe(0);
    expect(again.homeserver.events).toBe(0);
    const more = [
      await alice.text(rooms.general, 'news 1'),
      await bob.text(rooms.general, 'news 2'),
      await carol.text(rooms.general, 'news 3'),
    ];
    const third = await ingestHere(db, media, { keys: true, pageSize: 10 });
    expect(third.added.events).toBe(3);
    expect(third.homeserver.events).toBe(3);
    expect(third.homeserver.per_room[rooms.general]?.passes).toEqual(['forwards']);
    const events = await eventsOf(db, rooms.general);
    for (const id of more) expect(events.has(id)).toBe(true);
    reference = db;
  }, 60_000);
});

/** The store of the first describe's runs, once it has read everything (the kill -9 reference). */
let reference = '';
/** A store that holds an Element export of General and then a live read of it (pushed below). */
let elementThenLive = '';

const start = (argv: string[]) =>
  startCli(argv, { MATRIX_TOKEN: alice.token, FERRY_ROOM_KEYS_PASSPHRASE: PASS });

/** Events stored so far (0 while the child has not migrated the store yet). */
async function storedEvents(url: string): Promise<number> {
  const store = await storeOf(url);
  try {
    const row = (await store.knex('events').count({ n: '*' }).first()) as { n: string };
    return Number(row.n);
  } catch {
    return 0;
  }
}

async function snapshot(url: string) {
  const store = await storeOf(url);
  const events = (await store
    .knex('events')
    .orderBy('key')
    .select('key', 'room_key', 'order_key', 'sender', 'kind', 'payload')) as unknown[];
  const rooms = (await store
    .knex('rooms')
    .orderBy('key')
    .select('key', 'members', 'name')) as unknown[];
  const users = (await store
    .knex('users')
    .orderBy('key')
    .select('key', 'display_name')) as unknown[];
  const media = (await store.knex('media').orderBy('key').select('key', 'local_path')) as unknown[];
  const marks = (await store
    .knex('matrix_room_watermarks')
    .orderBy('room_id')
    .select('room_id', 'pass_low_token')) as unknown[];
  return { events, rooms, users, media, marks };
}

describe('ferry ingest matrix: crashes, rooms it cannot read, tokens', () => {
  it('kill -9 twice mid-read, then a rerun: the store equals an uninterrupted run’s', async () => {
    const args = (url: string, dir: string) => [
      ...ingestArgs(url, join(work, dir), '--page-size', '4', '--room-keys', partialKeys),
      '--json',
    ];
    // The reference: the uninterrupted runs above (pages of 10, then forwards), same server.
    expect(reference).not.toBe('');
    const want = await snapshot(reference);

    const crashed = await database();
    for (const threshold of [12, 40]) {
      const run = start(args(crashed, 'crash-media'));
      let exited = false;
      void run.done.then(() => (exited = true));
      while (!exited && (await storedEvents(crashed)) < threshold) {
        await new Promise((r) => setTimeout(r, 3));
      }
      expect(exited, 'the run ended before its kill point').toBe(false);
      run.child.kill('SIGKILL');
      await run.done;
    }
    const partial = await snapshot(crashed);
    expect(partial.events.length).toBeGreaterThanOrEqual(40);
    expect(partial.events.length).toBeLessThan(want.events.length);

    const last = await runCli(args(crashed, 'crash-media'), {
      MATRIX_TOKEN: alice.token,
      FERRY_ROOM_KEYS_PASSPHRASE: PASS,
    });
    expect(last.code, last.stderr).toBe(0);
    const got = await snapshot(crashed);
    expect(got.events.length).toBe(want.events.length);
    expect(got).toEqual(want);
  }, 120_000);

  it('a room the user is not in and an unknown alias are counted skips; an alias is resolved', async () => {
    const url = await database();
    const report = await ingestHere(url, join(work, 'skip-media'), {
      rooms: [rooms.bobOnly, '#src-general:source.test', '#nope:source.test'],
    });
    const hs = report.homeserver;
    expect(hs.rooms).toEqual({
      listed: 2,
      read: 1,
      skipped: { room_not_readable: 1, alias_not_found: 1 },
    });
    expect(hs.skipped_rooms).toEqual([
      { room: '#nope:source.test', reason: 'alias_not_found', errcode: 'M_NOT_FOUND' },
      { room: rooms.bobOnly, reason: 'room_not_readable', errcode: 'M_FORBIDDEN' },
    ]);
    expect(Object.keys(hs.per_room)).toEqual([rooms.general]);
    expect((await eventsOf(url, rooms.bobOnly)).size).toBe(0);
  }, 60_000);

  it('--space: the space (by alias) and its children, each child under the space', async () => {
    const space = await alice.createRoom({
      preset: 'public_chat',
      name: 'Team space',
      room_alias_name: 'src-space',
      creation_content: { type: 'm.space' },
    });
    await alice.state(space, 'm.space.child', { via: ['source.test'] }, rooms.general);
    const url = await database();
    const report = await ingestHere(url, join(work, 'space-media'), {
      space: '#src-space:source.test',
    });
    expect(report.homeserver.rooms).toEqual({ listed: 2, read: 2, skipped: {} });
    const store = await storeOf(url);
    const stored = (await store.knex('rooms').orderBy('key').select('key', 'kind', 'parent')) as {
      key: string;
      kind: string;
      parent: string | null;
    }[];
    expect(stored).toEqual(
      expect.arrayContaining([
        { key: `matrix:${space}`, kind: 'space', parent: null },
        { key: `matrix:${rooms.general}`, kind: 'channel', parent: `matrix:${space}` },
      ]),
    );
    expect(stored).toHaveLength(2);
  }, 60_000);

  it('a rejected token: exit 2, one line, the token never shown; no token: exit 2 naming $MATRIX_TOKEN', async () => {
    const url = await database();
    const bad = 'syt_bm90IGEgdG9rZW4_NoTtHeToKeN_0abc12';
    const r = await runCli(ingestArgs(url, join(work, 'bad-media')), { MATRIX_TOKEN: bad });
    expect(r.code).toBe(2);
    expect(r.stderr.trim().split('\n')).toEqual([
      'ferry: the homeserver rejected the access token (M_UNKNOWN_TOKEN)',
    ]);
    expect(r.stderr + r.stdout).not.toContain('NoTtHeToKeN');
    const none = ingestHere(url, join(work, 'bad-media'), { env: {} });
    await expect(none).rejects.toThrow(/no Matrix access token: set \$MATRIX_TOKEN/);
    await expect(none).rejects.toMatchObject({ exitCode: 2 });
    expect(existsSync(join(work, 'bad-media'))).toBe(false);
  }, 60_000);
});

describe('an Element export of a room, then a live read of it', () => {
  it('gives the same events, and the live read adds none', async () => {
    const timeline = await alice.timeline(rooms.general);
    const exportFile = join(work, 'general-export.json');
    await writeFile(
      exportFile,
      JSON.stringify({
        room_name: 'General chat',
        room_creator: alice.userId,
        topic: 'all things',
        export_date: '2026-12-04',
        exported_by: alice.userId,
        messages: timeline,
      }),
    );
    const url = await database();
    const element = await runIngest('element', exportFile, await storeOf(url, true), {
      logger: silentLogger,
      progress: false,
    });
    expect(element.added.events).toBeGreaterThan(50);
    const fromElement = await eventsOf(url, rooms.general);

    // The same items as the live read of the first describe (another store, another source).
    const fromLive = await eventsOf(reference, rooms.general);
    expect([...fromLive.keys()].sort()).toEqual([...fromElement.keys()].sort());
    for (const [key, row] of fromLive) expect(row, key).toEqual(fromElement.get(key));

    const live = await ingestHere(url, join(work, 'after-element-media'), {
      rooms: [rooms.general],
    });
    expect(live.added.events).toBe(0);
    expect(live.existing.events + live.updated.events).toBe(fromElement.size);
    expect((await eventsOf(url, rooms.general)).size).toBe(fromElement.size);
    elementThenLive = url;
  }, 60_000);
});

describe('pushed into the target Synapse', () => {
  it('a real client sees the room: edited text, thread, reaction, image', async () => {
    const target = await sharedSynapse();
    const url = elementThenLive;
    expect(url).not.toBe('');
    const config = writeFerryConfig(target);
    const push = await runCli(['--config', config, '--database', url, 'push', '--json']);
    expect(push.code, push.stderr + push.stdout).toBe(0);
    const reader = new AdminReader(target);
    const roomId = await reader.roomIdOfAlias(
      `${TEST_PREFIX}matrix_${sanitizeLocalpart(rooms.general.slice(1))}`,
    );
    const events = await reader.timeline(roomId);
    const messages = events.filter((e) => e.type === 'm.room.message');
    const body = (b: string) => messages.find((m) => m.content.body === b);
    const bodies = messages.map((m) => String(m.content.body));
    expect(body('hello, edited (edited)'), bodies.join(' | ')).toBeDefined();
    const root = body('thread root');
    const reply = body('in the thread');
    expect((reply?.content['m.relates_to'] as { event_id?: string }).event_id).toBe(root?.event_id);
    const reaction = events.find((e) => e.type === 'm.reaction');
    expect(reaction?.content['m.relates_to']).toMatchObject({ key: '👍' });
    const image = messages.find((m) => m.content.msgtype === 'm.image');
    const mxc = String(image?.content.url);
    expect(mxc).toMatch(/^mxc:\/\//);
    const body2 = await fetch(
      `${target.baseUrl}/_matrix/client/v1/media/download/${mxc.slice('mxc://'.length)}`,
      { headers: { Authorization: `Bearer ${target.adminToken}` } },
    );
    expect(Buffer.from(await body2.arrayBuffer()).equals(PNG)).toBe(true);
    expect(body('oops, wrong room')).toBeUndefined();
  }, 120_000);
});
