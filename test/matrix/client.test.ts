import { createServer } from 'node:net';
import { Readable } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { MatrixClient, type MatrixClientOptions } from '../../src/matrix/client.js';
import {
  MatrixHttpError,
  MatrixNetworkError,
  isErrcode,
  parseRetryAfter,
} from '../../src/matrix/client-errors.js';
import { backoffDelay, DEFAULT_RETRY_OPTIONS, decideRetry } from '../../src/matrix/retry.js';
import type { RoomAlias, RoomId, UserId } from '../../src/matrix/types.js';
import { FakeHomeserver, type FakeMethod } from '../support/fake-homeserver.js';
import { recordingLogger, type LogEntry } from '../support/recording-logger.js';

const isPath =
  (fragment: string, method?: FakeMethod) =>
  (m: FakeMethod, path: string): boolean =>
    path.includes(fragment) && (method === undefined || m === method);

let fake: FakeHomeserver;
let client: MatrixClient;
let sleeps: number[];
let logs: LogEntry[];

function makeClient(overrides: Partial<MatrixClientOptions> = {}): MatrixClient {
  return new MatrixClient({
    baseUrl: fake.baseUrl,
    asToken: fake.asToken,
    logger: recordingLogger(logs),
    sleep: (ms) => {
      sleeps.push(ms);
      return Promise.resolve();
    },
    random: () => 0.5,
    ...overrides,
  });
}

beforeEach(async () => {
  fake = new FakeHomeserver();
  await fake.start();
  sleeps = [];
  logs = [];
  client = makeClient();
});

afterEach(async () => {
  await fake.stop();
});

/** A public room created by the bot, with `alice` registered and joined. */
async function roomWithAlice(): Promise<{ roomId: RoomId; alice: UserId }> {
  const { userId: alice } = await client.registerUser('alice');
  const roomId = await client.createRoom({ preset: 'public_chat', room_alias_name: 'general' });
  await client.sendState(
    roomId,
    'm.room.member',
    alice,
    { membership: 'join' },
    { userId: alice, ts: 1000 },
  );
  return { roomId, alice };
}

const messagesIn = (roomId: RoomId) =>
  fake.eventsIn(roomId).filter((e) => e.type === 'm.room.message');

describe('MatrixClient basics', () => {
  it('registers a user once and reports created=false the second time', async () => {
    await expect(client.registerUser('alice')).resolves.toEqual({
      userId: '@alice:test.local',
      created: true,
    });
    await expect(client.registerUser('alice')).resolves.toEqual({
      userId: '@alice:test.local',
      created: false,
    });
    const body = fake.requests.find((r) => r.path.endsWith('/register'))?.body;
    expect(body).toEqual({
      type: 'm.login.application_service',
      username: 'alice',
      inhibit_login: true,
    });
  });

  it('sends with ts and user_id, setting origin_server_ts and sender', async () => {
    const { roomId, alice } = await roomWithAlice();
    const eventId = await client.sendEvent(
      roomId,
      'm.room.message',
      'txn-1',
      { msgtype: 'm.text', body: 'hello from 2017' },
      { userId: alice, ts: 1_500_000_000_000 },
    );
    const [event] = messagesIn(roomId);
    expect(event).toMatchObject({
      event_id: eventId,
      sender: alice,
      origin_server_ts: 1_500_000_000_000,
    });
    const request = fake.requests.find((r) => r.path.includes('/send/'));
    expect(request?.query).toEqual({ user_id: alice, ts: '1500000000000' });
    expect(request?.userId).toBe(alice);
  });

  it('sends Authorization: Bearer and never the token in the URL', async () => {
    let seen: { url: string; auth: string | null } | undefined;
    const spy: typeof fetch = (input, init) => {
      const url = typeof input === 'string' ? input : input instanceof URL ? input.href : input.url;
      seen = { url, auth: new Headers(init?.headers).get('authorization') };
      return fetch(input, init);
    };
    await makeClient({ fetch: spy }).whoami();
    expect(seen?.auth).toBe(`Bearer ${fake.asToken}`);
    expect(seen?.url).not.toContain(fake.asToken);
  });

  it('percent-encodes room IDs, event types, state keys and txn IDs in paths', async () => {
    const { roomId, alice } = await roomWithAlice();
    await client.sendEvent(
      roomId,
      'm.room.message',
      'a/b c?d',
      { msgtype: 'm.text', body: 'x' },
      { userId: alice },
    );
    const send = fake.requests.find((r) => r.path.includes('/send/'));
    expect(send?.path).toBe(
      `/_matrix/client/v3/rooms/${encodeURIComponent(roomId)}/send/m.room.message/a%2Fb%20c%3Fd`,
    );
    expect(send?.path).toContain('%3Atest.local');
    const join = fake.requests.find((r) => r.path.includes('/state/m.room.member/'));
    expect(join?.path).toContain('/state/m.room.member/%40alice%3Atest.local');
  });

  it('pages through /messages in both directions', async () => {
    const { roomId, alice } = await roomWithAlice();
    for (let i = 0; i < 5; i++) {
      await client.sendEvent(
        roomId,
        'm.room.message',
        `t${i}`,
        { msgtype: 'm.text', body: `m${i}` },
        { userId: alice, ts: 2000 + i },
      );
    }
    const filter = { types: ['m.room.message'] };
    const bodies: unknown[] = [];
    let from: string | undefined;
    for (;;) {
      const page = await client.messages(roomId, {
        dir: 'b',
        limit: 2,
        filter,
        ...(from ? { from } : {}),
      });
      bodies.push(...page.chunk.map((e) => e.content.body));
      if (page.end === undefined) break;
      from = page.end;
    }
    expect(bodies).toEqual(['m4', 'm3', 'm2', 'm1', 'm0']);
    const forward = await client.messages(roomId, { dir: 'f', limit: 100, filter });
    expect(forward.chunk.map((e) => e.origin_server_ts)).toEqual([2000, 2001, 2002, 2003, 2004]);
    expect(forward.end).toBeUndefined();
  });

  it('covers profile, alias, state, membership, account data and read markers', async () => {
    const { roomId, alice } = await roomWithAlice();
    const { userId: bob } = await client.registerUser('bob');
    await client.setDisplayName(bob, 'Bob B.');
    await client.setAvatarUrl(bob, 'mxc://test.local/avatar');
    await expect(client.getProfile(bob)).resolves.toEqual({
      displayname: 'Bob B.',
      avatar_url: 'mxc://test.local/avatar',
    });
    await expect(client.getProfile('@nobody:test.local')).resolves.toBeUndefined();

    await expect(client.resolveAlias('#general:test.local')).resolves.toBe(roomId);
    await expect(client.resolveAlias('#missing:test.local')).resolves.toBeUndefined();
    const alias: RoomAlias = '#other:test.local';
    await client.putAlias(alias, roomId);
    await client.putAlias(alias, roomId); // 409 pointing at the same room counts as success
    const second = await client.createRoom({ preset: 'private_chat' });
    await expect(client.putAlias(alias, second)).rejects.toMatchObject({ status: 409 });

    await client.sendState(roomId, 'm.room.topic', '', { topic: 'Imported' }, { ts: 5 });
    await expect(client.getState(roomId, 'm.room.topic', '')).resolves.toEqual({
      topic: 'Imported',
    });
    await expect(client.getState(roomId, 'm.room.avatar', '')).resolves.toBeUndefined();
    expect((await client.getRoomState(roomId)).some((e) => e.type === 'm.room.topic')).toBe(true);

    await client.invite(second, bob);
    await expect(client.joinRoom(second, bob)).resolves.toBe(second);
    await expect(client.joinRoom('#general:test.local', bob)).resolves.toBe(roomId);
    expect(new Set(await client.joinedRooms(bob))).toEqual(new Set([roomId, second]));
    const members = await client.roomMembers(roomId);
    expect(members.map((e) => e.state_key).sort()).toEqual([alice, bob, fake.botUserId].sort());

    await client.setAccountData(bob, 'm.direct', { [alice]: [second] });
    await expect(client.getAccountData(bob, 'm.direct')).resolves.toEqual({ [alice]: [second] });
    await expect(client.getAccountData(bob, 'm.ignored_user_list')).resolves.toBeUndefined();

    const eventId = await client.sendEvent(
      roomId,
      'm.room.message',
      'rm',
      { msgtype: 'm.text', body: 'x' },
      { userId: bob },
    );
    await client.setReadMarkers(roomId, bob, eventId);
    expect(fake.rooms.get(roomId)?.readMarkers.get(bob)).toEqual({
      fullyRead: eventId,
      read: eventId,
    });
  });

  it('uploads bytes and streams with Content-Length', async () => {
    const bytes = new TextEncoder().encode('hello world');
    const mxc = await client.upload(bytes, {
      contentType: 'text/plain',
      filename: 'a.txt',
      size: bytes.length,
    });
    const mediaId = mxc.split('/').pop() ?? '';
    expect(fake.media.get(mediaId)).toMatchObject({ contentType: 'text/plain', filename: 'a.txt' });
    expect(fake.media.get(mediaId)?.bytes.toString()).toBe('hello world');

    const streamed = await client.upload(Readable.from([Buffer.from('abc'), Buffer.from('def')]), {
      contentType: 'application/octet-stream',
      size: 6,
    });
    expect(fake.media.get(streamed.split('/').pop() ?? '')?.bytes.toString()).toBe('abcdef');
  });

  it('calls the admin API with the admin token only', async () => {
    await fake.stop();
    fake = new FakeHomeserver({ adminToken: 'admin-secret' });
    await fake.start();
    client = makeClient();
    await expect(
      client.adminRequest('GET', '/_synapse/admin/v1/server_version', undefined, 'admin-secret'),
    ).resolves.toEqual({
      server_version: 'fake',
    });
    const error = await client
      .adminRequest('GET', '/_synapse/admin/v1/server_version', undefined, fake.asToken)
      .catch((e: unknown) => e);
    expect(error).toMatchObject({ status: 403, errcode: 'M_FORBIDDEN' });
    await expect(
      client.adminRequest('GET', '/_matrix/client/versions', undefined, 'x'),
    ).rejects.toThrow(TypeError);
  });
});

describe('MatrixClient retries', () => {
  it('waits retry_after_ms on 429 and then succeeds', async () => {
    const { roomId, alice } = await roomWithAlice();
    fake.failNext(2, { status: 429, retryAfterMs: 1234, match: isPath('/send/') });
    await client.sendEvent(
      roomId,
      'm.room.message',
      't',
      { msgtype: 'm.text', body: 'x' },
      { userId: alice },
    );
    expect(sleeps).toEqual([1234, 1234]);
    expect(messagesIn(roomId)).toHaveLength(1);
    const warns = logs.filter((l) => l.level === 'warn');
    expect(warns).toHaveLength(2);
    expect(warns[0]?.obj).toMatchObject({ method: 'PUT', status: 429, attempt: 1, delayMs: 1234 });
    expect(JSON.stringify(warns)).not.toContain('?');
  });

  it('uses Retry-After, a 1 s default and a 60 s cap for 429', async () => {
    fake.failNext(1, { status: 429, retryAfterHeader: '3' });
    fake.failNext(1, { status: 429 });
    fake.failNext(1, { status: 429, retryAfterMs: 3_600_000 });
    await client.whoami();
    expect(sleeps).toEqual([3000, 1000, 60_000]);
    expect(parseRetryAfter(new Date(10_000).toUTCString(), 4_000)).toBe(6000);
    expect(parseRetryAfter('soon', 0)).toBeUndefined();
  });

  it('retries 5xx with growing, bounded delays and then throws the last error', async () => {
    client = makeClient({ retry: { maxAttempts: 4, baseDelayMs: 100, maxDelayMs: 250 } });
    fake.failNext(10, { status: 503, match: isPath('/whoami') });
    const error = await client.whoami().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(MatrixHttpError);
    expect(error).toMatchObject({
      status: 503,
      errcode: 'M_UNKNOWN',
      retryable: true,
      code: 'homeserver_error',
    });
    expect(sleeps).toEqual([75, 150, 250]);
    expect(fake.requests.filter((r) => r.path.endsWith('/whoami'))).toHaveLength(4);
  });

  it('keeps backoff non-decreasing and within bounds for any jitter', () => {
    const options = { ...DEFAULT_RETRY_OPTIONS, maxAttempts: 20 };
    for (const r of [0, 0.3, 0.999]) {
      const delays = Array.from({ length: 12 }, (_, i) => backoffDelay(i + 1, options, () => r));
      expect(delays).toEqual([...delays].sort((a, b) => a - b));
      expect(Math.max(...delays)).toBeLessThanOrEqual(30_000);
      expect(delays[0]).toBeGreaterThanOrEqual(125);
    }
    const server500 = new MatrixHttpError({ method: 'PUT', path: '/x', status: 500 });
    expect(decideRetry(server500, 8, 'idempotent', DEFAULT_RETRY_OPTIONS)).toEqual({
      retry: false,
    });
  });

  it('does not retry a 403', async () => {
    const { roomId } = await roomWithAlice();
    const { userId: bob } = await client.registerUser('bob'); // registered but not joined
    const error = await client
      .sendEvent(
        roomId,
        'm.room.message',
        't',
        { msgtype: 'm.text', body: 'x' },
        { userId: bob, ts: 7 },
      )
      .catch((e: unknown) => e);
    expect(isErrcode(error, 'M_FORBIDDEN')).toBe(true);
    expect(error).toMatchObject({ status: 403, retryable: false, method: 'PUT' });
    const httpError = error as MatrixHttpError;
    expect(httpError.path).not.toContain('?');
    expect(httpError.message).toContain('403 M_FORBIDDEN');
    expect(httpError.message).toContain(
      `/rooms/${encodeURIComponent(roomId)}/send/m.room.message/t`,
    );
    expect(httpError.message).not.toContain('user_id=');
    expect(sleeps).toEqual([]);
    expect(fake.requests.filter((r) => r.path.includes('/send/'))).toHaveLength(1);
  });

  it('retries a lost /send response with the same txn ID and yields exactly one event', async () => {
    const { roomId, alice } = await roomWithAlice();
    fake.failNext(1, { status: 500, afterProcessing: true, match: isPath('/send/') });
    const eventId = await client.sendEvent(
      roomId,
      'm.room.message',
      'txn-lost',
      { msgtype: 'm.text', body: 'once' },
      { userId: alice, ts: 3 },
    );
    const sends = fake.requests.filter((r) => r.path.includes('/send/'));
    expect(sends).toHaveLength(2);
    expect(sends[0]?.path).toBe(sends[1]?.path);
    expect(sends.map((s) => s.status)).toEqual([500, 200]);
    expect(messagesIn(roomId).map((e) => e.event_id)).toEqual([eventId]);
  });

  it('retries a reset connection on idempotent requests', async () => {
    const { roomId, alice } = await roomWithAlice();
    fake.failNext(1, {
      status: 'connection_reset',
      afterProcessing: true,
      match: isPath('/send/'),
    });
    await client.sendEvent(
      roomId,
      'm.room.message',
      'txn-reset',
      { msgtype: 'm.text', body: 'x' },
      { userId: alice },
    );
    expect(sleeps).toHaveLength(1);
    expect(messagesIn(roomId)).toHaveLength(1);
  });

  it('never retries createRoom after an ambiguous failure; the alias tells what happened', async () => {
    fake.failNext(1, { status: 500, afterProcessing: true, match: isPath('/createRoom') });
    const error = await client.createRoom({ room_alias_name: 'imp_c1' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(MatrixHttpError);
    expect(error).toMatchObject({ status: 500, retryable: true });
    expect(fake.requests.filter((r) => r.path.endsWith('/createRoom'))).toHaveLength(1);
    expect(sleeps).toEqual([]);
    expect(fake.rooms.size).toBe(1);
    await expect(client.resolveAlias('#imp_c1:test.local')).resolves.toBe(
      [...fake.rooms.keys()][0],
    );

    fake.failNext(1, { status: 'connection_reset', match: isPath('/createRoom') });
    const reset = await client.createRoom({ room_alias_name: 'imp_c2' }).catch((e: unknown) => e);
    expect(reset).toBeInstanceOf(MatrixNetworkError);
    expect(reset).toMatchObject({ delivery: 'maybe_sent', retryable: true });
    expect(fake.requests.filter((r) => r.path.endsWith('/createRoom'))).toHaveLength(2);
  });

  it('retries createRoom on 429 (the server did nothing)', async () => {
    fake.failNext(1, { status: 429, retryAfterMs: 50, match: isPath('/createRoom') });
    await expect(client.createRoom({ room_alias_name: 'imp_c3' })).resolves.toMatch(/^!/);
    expect(sleeps).toEqual([50]);
    expect(fake.rooms.size).toBe(1);
  });

  it('retries even createRoom when the connection was refused, then gives up', async () => {
    const closedPort = await new Promise<number>((resolve) => {
      const server = createServer();
      server.listen(0, '127.0.0.1', () => {
        const address = server.address();
        server.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
      });
    });
    const offline = makeClient({
      baseUrl: `http://127.0.0.1:${closedPort}`,
      retry: { maxAttempts: 3 },
    });
    const error = await offline.createRoom({}).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(MatrixNetworkError);
    expect(error).toMatchObject({
      delivery: 'not_sent',
      method: 'POST',
      path: '/_matrix/client/v3/createRoom',
    });
    expect(sleeps).toHaveLength(2);
  });

  it('retries byte uploads on 5xx but never a one-shot stream', async () => {
    fake.failNext(1, { status: 502, match: isPath('/upload') });
    await client.upload(new Uint8Array([1, 2, 3]), {
      contentType: 'application/octet-stream',
      size: 3,
    });
    expect(fake.media.size).toBe(1);
    fake.failNext(1, { status: 502, match: isPath('/upload') });
    const error = await client
      .upload(Readable.from([Buffer.from('abc')]), { contentType: 'text/plain', size: 3 })
      .catch((e: unknown) => e);
    expect(error).toMatchObject({ status: 502 });
    expect(fake.requests.filter((r) => r.path.endsWith('/upload'))).toHaveLength(3);
    fake.failNext(1, { status: 502, match: isPath('/upload') });
    await client.upload(() => Readable.from([Buffer.from('abc')]), {
      contentType: 'text/plain',
      size: 3,
    });
    expect(fake.media.size).toBe(2);
  });
});

describe('MatrixClient secret hygiene', () => {
  it('keeps the as_token out of error messages and log records', async () => {
    const { roomId } = await roomWithAlice();
    client = makeClient({ retry: { maxAttempts: 2 } });
    fake.failNext(5, { status: 500, match: isPath('/whoami') });
    const errors: unknown[] = [];
    errors.push(await client.whoami().catch((e: unknown) => e));
    errors.push(
      await client
        .sendEvent(roomId, 'm.room.message', 't', {}, { userId: '@ghost:test.local' })
        .catch((e: unknown) => e),
    );
    errors.push(
      await makeClient({ asToken: 'wrong-token-value' })
        .whoami()
        .catch((e: unknown) => e),
    );
    expect(errors[2]).toMatchObject({ status: 401, errcode: 'M_UNKNOWN_TOKEN' });
    for (const error of errors) {
      expect(error).toBeInstanceOf(MatrixHttpError);
      const text = `${(error as Error).message} ${JSON.stringify(error)}`;
      expect(text).not.toContain(fake.asToken);
      expect(text).not.toContain('wrong-token-value');
    }
    expect(logs.length).toBeGreaterThan(0);
    expect(JSON.stringify(logs)).not.toContain(fake.asToken);
  });

  it('redacts tokens a server or proxy echoes back in an error body', async () => {
    const secret = 'syt_c2VjcmV0_abcdefghijklmnop';
    const echo: typeof fetch = () =>
      Promise.resolve(
        new Response(
          JSON.stringify({
            errcode: 'M_UNKNOWN',
            error: `bad request ?access_token=${secret} Bearer ${secret}`,
          }),
          {
            status: 400,
          },
        ),
      );
    const error = await makeClient({ fetch: echo, asToken: secret })
      .whoami()
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(MatrixHttpError);
    expect((error as Error).message).toContain('REDACTED');
    expect((error as Error).message).not.toContain(secret);
    expect(JSON.stringify(error)).not.toContain(secret);
  });

  it('reports non-JSON error bodies (e.g. a proxy page) with their start', async () => {
    const proxy: typeof fetch = () =>
      Promise.resolve(new Response('<html>Bad Gateway</html>', { status: 400 }));
    const error = await makeClient({ fetch: proxy })
      .versions()
      .catch((e: unknown) => e);
    expect(error).toMatchObject({
      status: 400,
      errcode: undefined,
      errorText: '<html>Bad Gateway</html>',
    });
  });
});
