/**
 * The live source's client-server transport against an in-process server that answers the way
 * homeservers do under load and in their older versions: 429 with `retry_after_ms` or only a
 * `Retry-After` header, 502s, a 401 for a dead token, and no authenticated media endpoint.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HomeserverClient } from '../../../src/sources/matrix-live/homeserver-client.js';
import { silentLogger } from '../../../src/logger.js';

const TOKEN = 'syt_c2VjcmV0_SeCrEtToKeN_1a2b3c';
type Handler = (req: IncomingMessage, res: ServerResponse) => void;
let server: Server;
let baseUrl = '';
let handler: Handler = (_req, res) => res.end('{}');
const seen: { path: string; auth: string | undefined; at: number }[] = [];

beforeAll(async () => {
  server = createServer((req, res) => {
    seen.push({ path: req.url ?? '', auth: req.headers.authorization, at: Date.now() });
    handler(req, res);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((r) => server.close(() => r())));

const json = (res: ServerResponse, status: number, body: unknown, headers = {}) => {
  res.writeHead(status, { 'content-type': 'application/json', ...headers });
  res.end(JSON.stringify(body));
};

const client = () =>
  new HomeserverClient({ baseUrl, token: TOKEN, logger: silentLogger, attempts: 3 });

describe('HomeserverClient', () => {
  it('waits out 429s (retry_after_ms, then Retry-After), retries a 502, sends the token as a header', async () => {
    seen.length = 0;
    let n = 0;
    handler = (_req, res) => {
      n += 1;
      if (n === 1) return json(res, 429, { errcode: 'M_LIMIT_EXCEEDED', retry_after_ms: 150 });
      if (n === 2) return json(res, 429, { errcode: 'M_LIMIT_EXCEEDED' }, { 'retry-after': '1' });
      if (n === 3) return json(res, 502, { errcode: 'M_UNKNOWN' });
      return json(res, 200, { chunk: [], start: 's1' });
    };
    const c = client();
    const r = await c.get('messages', '/rooms/!r:x/messages', { dir: 'b', from: undefined });
    expect(r).toEqual({ ok: true, data: { chunk: [], start: 's1' } });
    expect(c.rateLimited).toBe(2);
    expect(c.requests).toEqual({ messages: 4 });
    expect(seen.map((s) => s.path)).toEqual(
      Array(4).fill('/_matrix/client/v3/rooms/!r:x/messages?dir=b'),
    );
    expect(seen.every((s) => s.auth === `Bearer ${TOKEN}`)).toBe(true);
    const [a, b, c2] = seen.map((s) => s.at);
    expect((b ?? 0) - (a ?? 0)).toBeGreaterThanOrEqual(140);
    expect((c2 ?? 0) - (b ?? 0)).toBeGreaterThanOrEqual(990);
  });

  it('a 403 is an answer about the room; a 401 is a config error that never shows the token', async () => {
    handler = (_req, res) => json(res, 403, { errcode: 'M_FORBIDDEN', error: 'not in room' });
    expect(await client().get('state', '/rooms/!r:x/state')).toEqual({
      ok: false,
      status: 403,
      errcode: 'M_FORBIDDEN',
    });
    handler = (_req, res) => json(res, 401, { errcode: 'M_UNKNOWN_TOKEN', error: `bad ${TOKEN}` });
    const failed = client().get('account', '/account/whoami');
    await expect(failed).rejects.toMatchObject({
      code: 'config_invalid',
      message: 'the homeserver rejected the access token (M_UNKNOWN_TOKEN)',
    });
  });

  it('5xx that outlast the attempts: a retryable homeserver_error naming the path only', async () => {
    handler = (_req, res) => json(res, 503, {});
    await expect(
      client().get('messages', '/rooms/!r:x/messages', { from: 'tok' }),
    ).rejects.toMatchObject({
      code: 'homeserver_error',
      retryable: true,
      message: 'homeserver: GET /_matrix/client/v3/rooms/!r:x/messages failed (HTTP 503)',
    });
  });

  it('media: authenticated first; a server without it is asked on the legacy path, then only there', async () => {
    seen.length = 0;
    handler = (req, res) => {
      if (req.url?.startsWith('/_matrix/client/v1/media/')) {
        return json(res, 404, { errcode: 'M_UNRECOGNIZED' });
      }
      res.writeHead(200, { 'content-type': 'image/png' });
      res.end(Buffer.from('body of ' + (req.url ?? '')));
    };
    const c = client();
    const one = await c.download('example.org', 'abc');
    expect(one.ok && one.bytes.toString()).toBe(
      'body of /_matrix/media/v3/download/example.org/abc',
    );
    const two = await c.download('example.org', 'def');
    expect(two.ok).toBe(true);
    expect(seen.map((s) => s.path)).toEqual([
      '/_matrix/client/v1/media/download/example.org/abc',
      '/_matrix/media/v3/download/example.org/abc',
      '/_matrix/media/v3/download/example.org/def',
    ]);
    handler = (_req, res) => json(res, 404, { errcode: 'M_NOT_FOUND' });
    expect(await client().download('example.org', 'gone')).toEqual({
      ok: false,
      status: 404,
      errcode: 'M_NOT_FOUND',
    });
  });
});
