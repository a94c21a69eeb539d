/**
 * The reverse proxy in front of a Synapse in worker mode (scripts/synapse.sh start --workers N).
 * Synapse has no router of its own; this one listens on the public loopback port and sends
 * each client request to the main process or to one of the generic workers, which are also the
 * event persisters (`stream_writers.events`).
 *
 * Routing table (matrix-synapse 1.163 docs/workers.md, "synapse.app.generic_worker"):
 *
 * | request                                                          | goes to                    |
 * |------------------------------------------------------------------|----------------------------|
 * | `/_matrix/client/<v>/rooms/{roomId}/<X>` with X one of           | the persister of `roomId`  |
 * |   send, state, redact, join, invite, leave, ban, unban, kick,    |                            |
 * |   messages, members, joined_members, context, event, aliases,    |                            |
 * |   relations, threads, hierarchy, timestamp_to_event              |                            |
 * | `/_matrix/client/<v>/join/{roomIdOrAlias}`                       | the persister of a room ID,|
 * | `/_matrix/client/<v>/createRoom`, `/register`, `/profile/…`,     | round robin for the rest   |
 * |   `/directory/room/…`, `/joined_rooms`, `/account/whoami`,       |                            |
 * |   `/capabilities`                                                |                            |
 * | everything else: media, `/_synapse/admin`, account data, read    | main                       |
 * |   markers and receipts (their stream writers are on main),       |                            |
 * |   `/versions`, login                                             |                            |
 *
 * "The persister of a room" is Synapse's own shard function (synapse/config/_base.py
 * `ShardedWorkerHandlingConfig._get_instance`): sha256(room_id) read as a little-endian integer,
 * modulo the number of persisters, indexing `stream_writers.events` in order. Sending a room's
 * events to the worker that persists them saves the replication hop, and keeps every request
 * of a room on one process, which Synapse asks for `/messages` and which keeps a resend within
 * reach of the per-process transaction cache.
 *
 * Usage: tsx scripts/synapse-router.ts --port P --main URL --worker URL [--worker URL …]
 * (workers in `stream_writers.events` order). Loopback only. A worker that refuses the
 * connection (it is down, so nothing reached it) is skipped for the next worker, then main:
 * any process can create a room's events (the persister must still be up to store them, so
 * a write to a room of a dead persister fails with Synapse's own 5xx, while reads succeed).
 * When no upstream answers, the client gets 502 `M_UNKNOWN`, as from any reverse proxy.
 */
import { createHash } from 'node:crypto';
import { Agent, createServer, request, type IncomingMessage, type ServerResponse } from 'node:http';
import { fileURLToPath } from 'node:url';

/** Where a request goes: `main`, or the index of a worker in `stream_writers.events`. */
export type Upstream = { kind: 'main' } | { kind: 'worker'; index: number };

const VERSION = '(?:api/v1|r0|v3|v1|unstable)';
const ROOM_ENDPOINTS = new Set([
  'send',
  'state',
  'redact',
  'join',
  'invite',
  'leave',
  'ban',
  'unban',
  'kick',
  'messages',
  'members',
  'joined_members',
  'context',
  'event',
  'aliases',
  'relations',
  'threads',
  'hierarchy',
  'timestamp_to_event',
]);
const ROOM_PATH = new RegExp(`^/_matrix/client/${VERSION}/rooms/([^/]+)/([^/]+)`);
const JOIN_PATH = new RegExp(`^/_matrix/client/${VERSION}/join/([^/]+)$`);
const ANY_WORKER = new RegExp(
  `^/_matrix/client/${VERSION}/(?:createRoom$|register$|profile/|directory/room/|joined_rooms$|account/whoami$|capabilities$)`,
);

/** Synapse's event-persister shard of a room ID. */
export function shardOf(roomId: string, persisters: number): number {
  const digest = createHash('sha256').update(roomId, 'utf8').digest();
  let n = 0n;
  for (let i = digest.length - 1; i >= 0; i--) n = (n << 8n) | BigInt(digest[i]!);
  return Number(n % BigInt(persisters));
}

function decoded(segment: string): string | undefined {
  try {
    return decodeURIComponent(segment);
  } catch {
    return undefined;
  }
}

/**
 * The upstream of a request path (query string allowed). `nextRoundRobin` is called only for
 * requests that any worker may serve.
 */
export function routeFor(url: string, persisters: number, nextRoundRobin: () => number): Upstream {
  if (persisters === 0) return { kind: 'main' };
  const path = url.split('?', 1)[0] ?? '';
  const room = ROOM_PATH.exec(path);
  if (room !== null) {
    const roomId = decoded(room[1]!);
    if (!ROOM_ENDPOINTS.has(room[2]!) || roomId === undefined) return { kind: 'main' };
    return { kind: 'worker', index: shardOf(roomId, persisters) };
  }
  const join = JOIN_PATH.exec(path);
  const target = join === null ? undefined : decoded(join[1]!);
  if (target?.startsWith('!') === true)
    return { kind: 'worker', index: shardOf(target, persisters) };
  if (join !== null || ANY_WORKER.test(path))
    return { kind: 'worker', index: nextRoundRobin() % persisters };
  return { kind: 'main' };
}

interface RouterOptions {
  port: number;
  main: URL;
  workers: URL[];
}

function parseArgs(argv: string[]): RouterOptions {
  let port = 0;
  let main: URL | undefined;
  const workers: URL[] = [];
  for (let i = 0; i < argv.length; i += 2) {
    const [flag, value] = [argv[i], argv[i + 1]];
    if (value === undefined) throw new Error(`synapse-router: ${String(flag)} needs a value`);
    if (flag === '--port') port = Number(value);
    else if (flag === '--main') main = new URL(value);
    else if (flag === '--worker') workers.push(new URL(value));
    else throw new Error(`synapse-router: unknown argument ${String(flag)}`);
  }
  if (!Number.isInteger(port) || port <= 0 || main === undefined)
    throw new Error('synapse-router: --port and --main are required');
  return { port, main, workers };
}

function badGateway(res: ServerResponse, upstream: string): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  res.writeHead(502, { 'Content-Type': 'application/json' });
  res.end(JSON.stringify({ errcode: 'M_UNKNOWN', error: `upstream ${upstream} unreachable` }));
}

interface Target {
  name: string;
  url: URL;
}

/**
 * Sends the request to `targets[0]`; if its connection is refused (nothing reached it, so a
 * retry elsewhere is safe), to the next one. `body` is the buffered request body.
 */
function forward(
  req: IncomingMessage,
  body: Buffer,
  res: ServerResponse,
  targets: Target[],
  agent: Agent,
): void {
  const [target, ...rest] = targets;
  if (target === undefined) return badGateway(res, 'every');
  const up = request(
    {
      host: target.url.hostname,
      port: target.url.port,
      method: req.method,
      path: req.url,
      headers: req.headers,
      agent,
    },
    (upRes) => {
      res.writeHead(upRes.statusCode ?? 502, upRes.headers);
      upRes.pipe(res);
    },
  );
  up.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code === 'ECONNREFUSED' && rest.length > 0) forward(req, body, res, rest, agent);
    else badGateway(res, target.name);
  });
  up.end(body);
}

/** Main, or the routed worker first and then the others and main (for a refused connection). */
function targetsFor(route: Upstream, o: RouterOptions): Target[] {
  const main = { name: 'main', url: o.main };
  if (route.kind === 'main') return [main];
  const workers = o.workers.map((url, i) => ({ name: `persister${i + 1}`, url }));
  return [...workers.slice(route.index), ...workers.slice(0, route.index), main];
}

/**
 * Starts the proxy; resolves once it listens. Request bodies are buffered (ferry's JSON bodies
 * are small; media goes to main, which gets a stream instead).
 */
export function startRouter(o: RouterOptions): Promise<() => Promise<void>> {
  const agent = new Agent({ keepAlive: true, maxSockets: 256 });
  let turn = 0;
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const targets = targetsFor(
      routeFor(req.url ?? '/', o.workers.length, () => turn++),
      o,
    );
    if (targets.length === 1) {
      const up = request(
        {
          host: o.main.hostname,
          port: o.main.port,
          method: req.method,
          path: req.url,
          headers: req.headers,
          agent,
        },
        (upRes) => {
          res.writeHead(upRes.statusCode ?? 502, upRes.headers);
          upRes.pipe(res);
        },
      );
      up.on('error', () => badGateway(res, 'main'));
      req.pipe(up);
      return;
    }
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => forward(req, Buffer.concat(chunks), res, targets, agent));
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(o.port, '127.0.0.1', () =>
      resolve(
        () =>
          new Promise<void>((done) => {
            agent.destroy();
            server.close(() => done());
          }),
      ),
    );
  });
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  try {
    const o = parseArgs(process.argv.slice(2));
    const stop = await startRouter(o);
    process.stderr.write(`synapse-router: 127.0.0.1:${o.port} -> ${o.workers.length} workers\n`);
    process.once('SIGTERM', () => void stop().then(() => process.exit(0)));
  } catch (error) {
    process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(2);
  }
}
