import { request as httpRequest } from 'node:http';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ClientEvent, RoomId, UserId } from '../../src/matrix/types.js';
import { FakeHomeserver } from './fake-homeserver.js';

// These tests talk raw HTTP so that they check the fake's rules, not the client's.

let fake: FakeHomeserver;

beforeEach(async () => {
  fake = new FakeHomeserver({ now: () => 9_999 });
  await fake.start();
});

afterEach(async () => {
  await fake.stop();
});

interface Call {
  query?: Record<string, string>;
  body?: unknown;
  token?: string | null;
}

/** The response fields these tests read. */
interface Body {
  errcode?: string;
  error?: string;
  user_id?: string;
  room_id?: string;
  event_id?: string;
  chunk?: ClientEvent[];
  end?: string;
  base64?: string;
}

async function hs(
  method: string,
  path: string,
  call: Call = {},
): Promise<{ status: number; body: Body }> {
  const url = new URL(fake.baseUrl + path);
  for (const [k, v] of Object.entries(call.query ?? {})) url.searchParams.set(k, v);
  const token = call.token === undefined ? fake.asToken : call.token;
  const response = await fetch(url, {
    method,
    headers: token === null ? {} : { authorization: `Bearer ${token}` },
    ...(call.body === undefined ? {} : { body: JSON.stringify(call.body) }),
  });
  return { status: response.status, body: (await response.json()) as Body };
}

const cs = '/_matrix/client/v3';
const enc = encodeURIComponent;

async function register(localpart: string): Promise<UserId> {
  const res = await hs('POST', `${cs}/register`, {
    body: { type: 'm.login.application_service', username: localpart, inhibit_login: true },
  });
  expect(res.status).toBe(200);
  return res.body.user_id as UserId;
}

async function publicRoom(): Promise<RoomId> {
  const res = await hs('POST', `${cs}/createRoom`, { body: { preset: 'public_chat' } });
  expect(res.status).toBe(200);
  return res.body.room_id as RoomId;
}

async function join(roomId: RoomId, user: UserId, ts = 100): Promise<void> {
  const res = await hs('PUT', `${cs}/rooms/${enc(roomId)}/state/m.room.member/${enc(user)}`, {
    query: { user_id: user, ts: String(ts) },
    body: { membership: 'join' },
  });
  expect(res.status).toBe(200);
}

function send(
  roomId: RoomId,
  txn: string,
  content: object,
  user?: UserId,
  type = 'm.room.message',
) {
  return hs('PUT', `${cs}/rooms/${enc(roomId)}/send/${type}/${txn}`, {
    query: user === undefined ? {} : { user_id: user },
    body: content,
  });
}

describe('FakeHomeserver auth', () => {
  it('rejects missing and unknown tokens', async () => {
    expect(await hs('GET', `${cs}/account/whoami`, { token: null })).toMatchObject({
      status: 401,
      body: { errcode: 'M_MISSING_TOKEN' },
    });
    expect(await hs('GET', `${cs}/account/whoami`, { token: 'nope' })).toMatchObject({
      status: 401,
      body: { errcode: 'M_UNKNOWN_TOKEN' },
    });
    expect((await hs('GET', '/_matrix/client/versions', { token: null })).status).toBe(200);
  });

  it('requires masqueraded users to be registered and in the namespace', async () => {
    const unregistered = await hs('GET', `${cs}/account/whoami`, {
      query: { user_id: '@alice:test.local' },
    });
    expect(unregistered).toMatchObject({ status: 403, body: { errcode: 'M_FORBIDDEN' } });
    expect(unregistered.body.error).toContain('not registered');
    const foreign = await hs('GET', `${cs}/account/whoami`, {
      query: { user_id: '@alice:elsewhere.org' },
    });
    expect(foreign.status).toBe(403);
    expect(foreign.body.error).toContain('cannot masquerade');
    await register('alice');
    expect(
      await hs('GET', `${cs}/account/whoami`, { query: { user_id: '@alice:test.local' } }),
    ).toMatchObject({
      status: 200,
      body: { user_id: '@alice:test.local' },
    });
  });

  it('registers with M_USER_IN_USE, M_INVALID_USERNAME and inhibit_login rules', async () => {
    await register('alice');
    const body = { type: 'm.login.application_service', username: 'alice', inhibit_login: true };
    expect((await hs('POST', `${cs}/register`, { body })).body.errcode).toBe('M_USER_IN_USE');
    expect(
      (await hs('POST', `${cs}/register`, { body: { ...body, username: 'Alice' } })).body.errcode,
    ).toBe('M_INVALID_USERNAME');
    expect(
      (
        await hs('POST', `${cs}/register`, {
          body: { ...body, username: 'x', inhibit_login: false },
        })
      ).status,
    ).toBe(400);
  });
});

describe('FakeHomeserver rooms and events', () => {
  it('creates rooms with the spec event order and rejects duplicate aliases', async () => {
    const bob = await register('bob');
    const res = await hs('POST', `${cs}/createRoom`, {
      body: {
        room_alias_name: 'imp_general',
        preset: 'private_chat',
        name: 'General',
        topic: 'Talk',
        invite: [bob],
        is_direct: true,
        creation_content: { 'm.federate': false },
        initial_state: [
          {
            type: 'm.room.history_visibility',
            state_key: '',
            content: { history_visibility: 'world_readable' },
          },
        ],
        power_level_content_override: { users: { [fake.botUserId]: 100, [bob]: 50 } },
      },
    });
    expect(res.status).toBe(200);
    const roomId = res.body.room_id as RoomId;
    expect(fake.eventsIn(roomId).map((e) => e.type)).toEqual([
      'm.room.create',
      'm.room.member',
      'm.room.power_levels',
      'm.room.canonical_alias',
      'm.room.join_rules',
      'm.room.history_visibility',
      'm.room.guest_access',
      'm.room.history_visibility',
      'm.room.name',
      'm.room.topic',
      'm.room.member',
    ]);
    expect(fake.stateOf(roomId, 'm.room.create')).toMatchObject({
      'm.federate': false,
      room_version: '11',
    });
    expect(fake.stateOf(roomId, 'm.room.history_visibility')).toEqual({
      history_visibility: 'world_readable',
    });
    expect(fake.stateOf(roomId, 'm.room.member', bob)).toEqual({
      membership: 'invite',
      is_direct: true,
    });
    expect(fake.stateOf(roomId, 'm.room.power_levels')).toMatchObject({ users: { [bob]: 50 } });
    expect(fake.aliases.get('#imp_general:test.local')).toBe(roomId);

    const again = await hs('POST', `${cs}/createRoom`, {
      body: { room_alias_name: 'imp_general' },
    });
    expect(again).toMatchObject({ status: 400, body: { errcode: 'M_ROOM_IN_USE' } });
    const badPl = await hs('POST', `${cs}/createRoom`, {
      body: { power_level_content_override: { users: { [bob]: 100 } } },
    });
    expect(badPl.status).toBe(400);
    expect(fake.rooms.size).toBe(1);
  });

  it('refuses /send from a user who has not joined', async () => {
    const roomId = await publicRoom();
    const alice = await register('alice');
    expect(await send(roomId, 't1', { body: 'x' }, alice)).toMatchObject({
      status: 403,
      body: { errcode: 'M_FORBIDDEN' },
    });
    await join(roomId, alice);
    expect((await send(roomId, 't1', { body: 'x' }, alice)).status).toBe(200);
  });

  it('needs an invite to join an invite-only room', async () => {
    const res = await hs('POST', `${cs}/createRoom`, { body: { preset: 'private_chat' } });
    const roomId = res.body.room_id as RoomId;
    const alice = await register('alice');
    const denied = await hs('POST', `${cs}/join/${enc(roomId)}`, {
      query: { user_id: alice },
      body: {},
    });
    expect(denied.status).toBe(403);
    expect(
      (await hs('POST', `${cs}/rooms/${enc(roomId)}/invite`, { body: { user_id: alice } })).status,
    ).toBe(200);
    expect(
      (await hs('POST', `${cs}/join/${enc(roomId)}`, { query: { user_id: alice }, body: {} }))
        .status,
    ).toBe(200);
    expect(fake.membershipOf(roomId, alice)).toBe('join');
  });

  it('sets origin_server_ts from ts and appends in arrival order', async () => {
    const roomId = await publicRoom();
    const alice = await register('alice');
    await join(roomId, alice, 50);
    await hs('PUT', `${cs}/rooms/${enc(roomId)}/send/m.room.message/a`, {
      query: { user_id: alice, ts: '300' },
      body: { body: 'late' },
    });
    await hs('PUT', `${cs}/rooms/${enc(roomId)}/send/m.room.message/b`, {
      query: { user_id: alice, ts: '200' },
      body: { body: 'early' },
    });
    const events = fake.eventsIn(roomId);
    expect(events.slice(-3).map((e) => e.origin_server_ts)).toEqual([50, 300, 200]);
    expect(events[0]?.origin_server_ts).toBe(9_999);
    const bad = await hs('PUT', `${cs}/rooms/${enc(roomId)}/send/m.room.message/c`, {
      query: { user_id: alice, ts: '-1' },
      body: {},
    });
    expect(bad.status).toBe(400);
  });

  it('rejects events over 64 KiB with 413 M_TOO_LARGE', async () => {
    const roomId = await publicRoom();
    const res = await send(roomId, 'big', { msgtype: 'm.text', body: 'x'.repeat(65_536) });
    expect(res).toMatchObject({ status: 413, body: { errcode: 'M_TOO_LARGE' } });
    expect((await send(roomId, 'ok', { msgtype: 'm.text', body: 'x'.repeat(60_000) })).status).toBe(
      200,
    );
  });

  it('rejects a duplicate annotation and bad relations', async () => {
    const roomId = await publicRoom();
    const target = (await send(roomId, 'm', { body: 'hi' })).body.event_id ?? '';
    const reaction = { 'm.relates_to': { rel_type: 'm.annotation', event_id: target, key: '👍' } };
    expect((await send(roomId, 'r1', reaction, undefined, 'm.reaction')).status).toBe(200);
    expect(await send(roomId, 'r2', reaction, undefined, 'm.reaction')).toMatchObject({
      status: 400,
      body: { errcode: 'M_DUPLICATE_ANNOTATION' },
    });
    const otherKey = { 'm.relates_to': { ...reaction['m.relates_to'], key: '🎉' } };
    expect((await send(roomId, 'r3', otherKey, undefined, 'm.reaction')).status).toBe(200);
    const unknown = { 'm.relates_to': { rel_type: 'm.thread', event_id: '$nope' } };
    expect((await send(roomId, 't1', unknown)).status).toBe(400);
    const reactionId = fake.eventsIn(roomId).at(-1)?.event_id ?? '';
    const threadOnRelation = { 'm.relates_to': { rel_type: 'm.thread', event_id: reactionId } };
    expect((await send(roomId, 't2', threadOnRelation)).body.error).toContain(
      'Cannot start threads',
    );
  });

  it('dedupes txn IDs by raw path, ignoring user_id and ts', async () => {
    const roomId = await publicRoom();
    const alice = await register('alice');
    const bob = await register('bob');
    await join(roomId, alice);
    await join(roomId, bob);
    const first = await hs('PUT', `${cs}/rooms/${enc(roomId)}/send/m.room.message/same`, {
      query: { user_id: alice, ts: '1' },
      body: { body: 'alice' },
    });
    const second = await hs('PUT', `${cs}/rooms/${enc(roomId)}/send/m.room.message/same`, {
      query: { user_id: bob, ts: '2' },
      body: { body: 'bob' },
    });
    expect(second.body.event_id).toBe(first.body.event_id);
    expect(
      fake
        .eventsIn(roomId)
        .filter((e) => e.type === 'm.room.message')
        .map((e) => e.content.body),
    ).toEqual(['alice']);
    // A different encoding of the same room is a different cache key, as in Synapse.
    const altEncoded = `${cs}/rooms/${enc(roomId).replace('!', '%21')}/send/m.room.message/same`;
    const third = await hs('PUT', altEncoded, { query: { user_id: bob }, body: { body: 'bob' } });
    expect(third.body.event_id).not.toBe(first.body.event_id);
    fake.clearTxnCache();
    const fourth = await hs('PUT', `${cs}/rooms/${enc(roomId)}/send/m.room.message/same`, {
      query: { user_id: alice },
      body: { body: 'alice' },
    });
    expect(fourth.body.event_id).not.toBe(first.body.event_id);
  });

  it('dedupes identical state replays', async () => {
    const roomId = await publicRoom();
    const path = `${cs}/rooms/${enc(roomId)}/state/m.room.topic/`;
    const a = await hs('PUT', path, { query: { ts: '1' }, body: { topic: 'T' } });
    const b = await hs('PUT', path, { query: { ts: '2' }, body: { topic: 'T' } });
    expect(b.body.event_id).toBe(a.body.event_id);
    const c = await hs('PUT', path.slice(0, -1), { body: { topic: 'U' } });
    expect(c.body.event_id).not.toBe(a.body.event_id);
    expect(fake.stateOf(roomId, 'm.room.topic')).toEqual({ topic: 'U' });
  });

  it('re-sends member events "now" when a joined user changes profile', async () => {
    const roomId = await publicRoom();
    const alice = await register('alice');
    await join(roomId, alice, 10);
    await hs('PUT', `${cs}/profile/${enc(alice)}/displayname`, {
      query: { user_id: alice },
      body: { displayname: 'Alice' },
    });
    const last = fake.eventsIn(roomId).at(-1);
    expect(last).toMatchObject({
      type: 'm.room.member',
      origin_server_ts: 9_999,
      content: { displayname: 'Alice', membership: 'join' },
    });
  });

  it('paginates /messages with from tokens and omits end at the edge', async () => {
    const roomId = await publicRoom();
    for (const txn of ['1', '2', '3']) await send(roomId, txn, { body: txn });
    const filter = JSON.stringify({ types: ['m.room.message'] });
    const page1 = await hs('GET', `${cs}/rooms/${enc(roomId)}/messages`, {
      query: { dir: 'b', limit: '2', filter },
    });
    expect(page1.body.chunk?.map((e) => e.content.body)).toEqual(['3', '2']);
    const page2 = await hs('GET', `${cs}/rooms/${enc(roomId)}/messages`, {
      query: { dir: 'b', limit: '2', filter, from: page1.body.end ?? '' },
    });
    expect(page2.body.chunk?.map((e) => e.content.body)).toEqual(['1']);
    expect(page2.body.end).toBeUndefined();
    const forward = await hs('GET', `${cs}/rooms/${enc(roomId)}/messages`, {
      query: { dir: 'f', limit: '1', filter },
    });
    expect(forward.body.chunk?.map((e) => e.content.body)).toEqual(['1']);
    expect(forward.body.end).toMatch(/^p\d+$/);
  });
});

describe('FakeHomeserver faults and media', () => {
  it('applies afterProcessing faults and answers 500', async () => {
    const roomId = await publicRoom();
    fake.failNext(1, {
      status: 500,
      afterProcessing: true,
      match: (_m, path) => path.includes('/send/'),
    });
    expect((await send(roomId, 'x', { body: 'lost' })).status).toBe(500);
    expect(fake.eventsIn(roomId).filter((e) => e.type === 'm.room.message')).toHaveLength(1);
    expect((await send(roomId, 'x', { body: 'lost' })).status).toBe(200);
    expect(fake.eventsIn(roomId).filter((e) => e.type === 'm.room.message')).toHaveLength(1);
    expect(fake.requests.at(-2)).toMatchObject({ status: 500, fault: 500 });
  });

  it('rejects faulted requests before processing and sends 429 details', async () => {
    fake.failNext(1, { status: 429, retryAfterMs: 500, retryAfterHeader: '1' });
    const response = await fetch(`${fake.baseUrl}/_matrix/client/versions`);
    expect(response.status).toBe(429);
    expect(response.headers.get('retry-after')).toBe('1');
    expect(await response.json()).toEqual({
      errcode: 'M_LIMIT_EXCEEDED',
      error: 'Too Many Requests',
      retry_after_ms: 500,
    });
    expect((await fetch(`${fake.baseUrl}/_matrix/client/versions`)).status).toBe(200);
  });

  it('requires Content-Length on upload', async () => {
    const status = await new Promise<number>((resolve, reject) => {
      const req = httpRequest(`${fake.baseUrl}/_matrix/media/v3/upload`, {
        method: 'POST',
        headers: { authorization: `Bearer ${fake.asToken}`, 'transfer-encoding': 'chunked' },
      });
      req.on('response', (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      req.on('error', reject);
      req.end('abc');
    });
    expect(status).toBe(400);
    expect(fake.media.size).toBe(0);
  });

  it('stores uploads and serves them on the authenticated media path', async () => {
    const response = await fetch(`${fake.baseUrl}/_matrix/media/v3/upload?filename=a.txt`, {
      method: 'POST',
      headers: { authorization: `Bearer ${fake.asToken}`, 'content-type': 'text/plain' },
      body: 'hello',
    });
    const { content_uri } = (await response.json()) as { content_uri: string };
    expect(content_uri).toMatch(/^mxc:\/\/test\.local\//);
    const download = await hs('GET', `/_matrix/client/v1/media/download/${content_uri.slice(6)}`);
    expect(Buffer.from(download.body.base64 ?? '', 'base64').toString()).toBe('hello');
  });
});
