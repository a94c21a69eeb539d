// The worker-mode router (scripts/synapse-router.ts): its routing table, Synapse's shard
// function, and failover on a refused connection, against small local upstream servers. The
// router in front of a real Synapse is exercised by `npm run test:workers`. Also the argument
// checks of `scripts/synapse.sh start --workers`.
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { routeFor, shardOf, startRouter } from '../../scripts/synapse-router.js';

describe('shardOf', () => {
  it('matches Synapse: sha256(room_id) as a little-endian integer modulo the persisters', () => {
    // Expected values computed with matrix-synapse 1.163.2's own formula in Python.
    const cases: [string, number, number, number][] = [
      ['!P3aAHNHlW650fUVV6CffQxt86HhlAnx1_ES6TTkzLn0', 1, 2, 3],
      ['!gwQ2p65lxs8mRWe18XZSIPQhzsBzu3TWMqRttrbfR54', 0, 0, 3],
      ['!abc:ferry.test', 1, 1, 2],
      ['!x:y', 0, 1, 1],
    ];
    for (const [room, two, three, five] of cases) {
      expect([shardOf(room, 2), shardOf(room, 3), shardOf(room, 5)], room).toEqual([
        two,
        three,
        five,
      ]);
    }
  });
});

describe('routeFor', () => {
  const rr = () => 7;
  const room = '!abc:ferry.test';
  const enc = encodeURIComponent(room);

  it('sends room writes and reads to the persister of the (percent-encoded) room ID', () => {
    for (const path of [
      `/_matrix/client/v3/rooms/${enc}/send/m.room.message/txn1?user_id=%40a%3Aferry.test&ts=1`,
      `/_matrix/client/v3/rooms/${enc}/state/m.room.name/`,
      `/_matrix/client/v3/rooms/${enc}/redact/%24e/txn2`,
      `/_matrix/client/v3/rooms/${enc}/invite`,
      `/_matrix/client/v3/rooms/${enc}/messages?dir=b&limit=10`,
      `/_matrix/client/r0/rooms/${enc}/members`,
      `/_matrix/client/v3/join/${enc}`,
    ]) {
      expect(routeFor(path, 3, rr), path).toEqual({ kind: 'worker', index: 1 });
    }
  });

  it('spreads room creation, joins by alias, registration and profiles round robin', () => {
    for (const path of [
      '/_matrix/client/v3/createRoom',
      '/_matrix/client/v3/join/%23general%3Aferry.test',
      '/_matrix/client/v3/register',
      '/_matrix/client/v3/profile/%40a%3Aferry.test/displayname',
      '/_matrix/client/v3/directory/room/%23general%3Aferry.test',
    ]) {
      expect(routeFor(path, 2, rr), path).toEqual({ kind: 'worker', index: 1 });
    }
  });

  it('keeps media, admin, account data, read markers and receipts on main', () => {
    for (const path of [
      '/_matrix/media/v3/upload?filename=a.png',
      '/_synapse/admin/v1/rooms/!abc:ferry.test/messages',
      '/_matrix/client/v3/user/%40a%3Aferry.test/account_data/m.direct',
      `/_matrix/client/v3/rooms/${enc}/read_markers`,
      `/_matrix/client/v3/rooms/${enc}/receipt/m.read/%24e`,
      '/_matrix/client/versions',
    ]) {
      expect(routeFor(path, 2, rr), path).toEqual({ kind: 'main' });
    }
  });

  it('sends everything to main without workers', () => {
    expect(routeFor(`/_matrix/client/v3/rooms/${enc}/send/t/x`, 0, rr)).toEqual({ kind: 'main' });
  });
});

describe('startRouter', () => {
  const servers: Server[] = [];
  let stop: () => Promise<void>;
  let base: string;

  /** An upstream that answers with its name and the body it got. */
  async function upstream(name: string): Promise<URL> {
    const server = createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        res.writeHead(200, { 'Content-Type': 'application/json' });
        res.end(JSON.stringify({ name, body, url: req.url }));
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    servers.push(server);
    return new URL(`http://127.0.0.1:${(server.address() as AddressInfo).port}`);
  }

  /** A port nothing listens on. */
  async function deadPort(): Promise<URL> {
    const url = await upstream('dead');
    const server = servers.pop()!;
    await new Promise((r) => server.close(r));
    return url;
  }

  beforeAll(async () => {
    const main = await upstream('main');
    const workers = [await upstream('w1'), await deadPort()];
    const port = (await deadPort()).port;
    stop = await startRouter({ port: Number(port), main, workers });
    base = `http://127.0.0.1:${port}`;
  });
  afterAll(async () => {
    await stop();
    for (const s of servers) await new Promise((r) => s.close(r));
  });

  const call = async (path: string, body?: string) =>
    (await (
      await fetch(base + path, { method: body === undefined ? 'GET' : 'PUT', body })
    ).json()) as { name: string; body: string; url: string };

  it('forwards path, query and body to the routed worker', async () => {
    // shardOf('!x:y', 2) is 0: the live worker.
    const got = await call('/_matrix/client/v3/rooms/!x:y/send/m.room.message/t1?ts=5', '{"a":1}');
    expect(got).toEqual({
      name: 'w1',
      body: '{"a":1}',
      url: '/_matrix/client/v3/rooms/!x:y/send/m.room.message/t1?ts=5',
    });
  });

  it('skips a worker that refuses the connection, keeping the body', async () => {
    // shardOf('!abc:ferry.test', 2) is 1: the dead worker; the next one is w1.
    const got = await call('/_matrix/client/v3/rooms/!abc:ferry.test/state/m.room.topic/', '{}');
    expect(got.name).toBe('w1');
    expect(got.body).toBe('{}');
  });

  it('streams main routes to main', async () => {
    expect((await call('/_matrix/media/v3/upload?filename=x', 'bytes')).name).toBe('main');
  });
});

describe('scripts/synapse.sh start --workers', () => {
  const run = (args: string[]) =>
    new Promise<{ code: number | null; stderr: string }>((resolve) => {
      execFile('bash', ['scripts/synapse.sh', 'start', ...args], (error, _stdout, stderr) =>
        resolve({ code: error === null ? 0 : (error.code as number), stderr }),
      );
    });

  it('refuses worker mode without PostgreSQL, or with a bad count, naming the option', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ferry-sw-args-'));
    try {
      const reg = join(dir, 'reg.yaml');
      writeFileSync(reg, 'id: x\n');
      const base = ['--dir', join(dir, 'hs'), '--port', '1', '--registration', reg];
      expect(await run([...base, '--workers', '2'])).toEqual({
        code: 1,
        stderr: 'synapse.sh: --workers needs --database-url (Synapse workers need PostgreSQL)\n',
      });
      const url = ['--database-url', 'postgres://postgres@127.0.0.1:5432/none'];
      expect(await run([...base, ...url, '--workers', 'two'])).toEqual({
        code: 1,
        stderr: 'synapse.sh: --workers must be a number from 1 to 99\n',
      });
      expect(existsSync(join(dir, 'hs', 'homeserver.yaml'))).toBe(false);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
