/**
 * Opt-in (`npm run test:workers`, not in the default suite): `ferry push` into a Synapse in
 * worker mode (scripts/synapse.sh --workers 2: Redis, main, two event persisters sharded by
 * room, the router on the public port), from two `ferry push` processes on one PostgreSQL
 * store. Mid-push, one pusher is killed with SIGKILL, then the event persister of a room the
 * other pusher is writing; the persister is started again 3 s later and the surviving pusher
 * runs on (it takes over the dead one's rooms when their 60-s leases expire, so the test takes
 * over two minutes); a last push must then find nothing left. Every room is read back over the
 * client-server API (through the router, so from the persister workers) and checked by
 * test/support/exactly-once.ts: no duplicates, no gaps, every message in store order. The
 * admin API (main process) must see the same timelines.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PushSummary } from '../../src/matrix/push.js';
import { openStore, type Store } from '../../src/store/store.js';
import { shardOf } from '../../scripts/synapse-router.js';
import { createPostgresDatabase } from '../support/databases.js';
import {
  checkExactlyOnce,
  countWhere,
  generateTestExport,
  NO_PROBLEMS,
  problems,
  roomsWithSeveralPending,
  writeScenarioConfig,
  type TimelineEntry,
} from '../support/exactly-once.js';
import { AdminReader } from '../support/migration.js';
import { runCli, type CliResult } from '../support/run-cli.js';
import { startSynapse, type SynapseHandle } from '../support/synapse.js';

interface Running {
  child: ChildProcess;
  done: Promise<CliResult>;
}

const PERSISTERS = 2;
let synapse: SynapseHandle;
let synapseDb: { url: string; drop: () => Promise<void> };
let storeDb: { url: string; drop: () => Promise<void> };
let store: Store;
let work: string;

function startFerry(args: string[]): Running {
  const child = spawn(process.execPath, ['bin/ferry.js', ...args], {
    env: { ...process.env, DATABASE_URL: '' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  const done = new Promise<CliResult>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) =>
      resolve({ code: code ?? (signal === null ? null : -1), stdout, stderr }),
    );
  });
  return { child, done };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until(what: string, condition: () => Promise<boolean>, ms = 300_000) {
  const deadline = Date.now() + ms;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

/** A room's timeline as the bot sees it over the client-server API, through the router. */
async function clientTimeline(roomId: string): Promise<TimelineEntry[]> {
  const bot = `@${synapse.registration.sender_localpart}:${synapse.serverName}`;
  const out: TimelineEntry[] = [];
  let from: string | undefined;
  for (;;) {
    const q = new URLSearchParams({ dir: 'f', limit: '500', user_id: bot });
    if (from !== undefined) q.set('from', from);
    const res = await fetch(
      `${synapse.baseUrl}/_matrix/client/v3/rooms/${encodeURIComponent(roomId)}/messages?${q.toString()}`,
      { headers: { Authorization: `Bearer ${synapse.registration.as_token}` } },
    );
    if (!res.ok) throw new Error(`messages ${roomId}: ${res.status} ${await res.text()}`);
    const page = (await res.json()) as { chunk: TimelineEntry[]; end?: string };
    out.push(...page.chunk);
    if (page.end === undefined || page.chunk.length === 0) return out;
    from = page.end;
  }
}

/** Events per room and persisting instance, from Synapse's own `events.instance_name`. */
async function eventsByInstance(): Promise<{ room_id: string; instance: string; n: number }[]> {
  const c = new pg.Client({ connectionString: synapseDb.url });
  await c.connect();
  try {
    const res = await c.query<{ room_id: string; instance_name: string | null; n: string }>(
      'select room_id, instance_name, count(*) as n from events group by room_id, instance_name',
    );
    return res.rows.map((r) => ({
      room_id: r.room_id,
      instance: r.instance_name ?? 'null',
      n: Number(r.n),
    }));
  } finally {
    await c.end();
  }
}

function pidOf(name: string): number {
  return Number(readFileSync(join(synapse.dir, `${name}.pid`), 'utf8').trim());
}

function summary(result: CliResult): PushSummary {
  expect(result.code, result.stderr).toBe(0);
  return JSON.parse(result.stdout) as PushSummary;
}

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'ferry-workers-'));
  synapseDb = await createPostgresDatabase({ synapse: true });
  synapse = await startSynapse({ databaseUrl: synapseDb.url, workers: PERSISTERS });
  storeDb = await createPostgresDatabase();
}, 300_000);

afterAll(async () => {
  await store?.close();
  await synapse?.stop();
  await storeDb?.drop();
  await synapseDb?.drop();
  rmSync(work, { recursive: true, force: true });
});

describe('ferry push on Synapse workers', () => {
  it('two pushers, kill -9 of one pusher and of one event persister: exactly once, in order', async () => {
    const config = writeScenarioConfig(synapse, join(work, 'ferry.yaml'), '_ferry_sw_');
    const zip = join(work, 'export.zip');
    await generateTestExport(zip, { messages: 640, conversations: 8 });
    const base = ['--config', config, '--database', storeDb.url];
    const ingest = await runCli([...base, 'ingest', 'slack', zip, '--json']);
    expect(ingest.code, ingest.stderr).toBe(0);
    store = await openStore({ databaseUrl: storeDb.url, migrate: false });
    const db = store.knex;
    const total = await countWhere(db, 'select count(*) as n from events');
    const sent = () =>
      countWhere(db, `select count(*) as n from matrix_ledger where status = 'sent'`);

    const a = startFerry([...base, 'push', '--json', '--concurrency', '2']);
    const b = startFerry([...base, 'push', '--json', '--concurrency', '2']);
    let bExited = false;
    void b.done.then(() => (bExited = true));

    // 1. Pusher A dies at ~20 %.
    await until('20 % sent', async () => (await sent()) >= total * 0.2);
    a.child.kill('SIGKILL');
    const ra = await a.done;
    expect(ra.code, ra.stderr.slice(-4000)).toBe(-1);
    const atPusherKill = await sent();

    // 2. An event persister that owns a room B is writing dies at ~40 %; it comes back 3 s later.
    await until('40 % sent', async () => (await sent()) >= total * 0.4);
    const running = (await db('matrix_rooms')
      .where({ status: 'running' })
      .whereNotNull('room_id')
      .whereLike('lease_owner', `%:${String(b.child.pid)}:%`)
      .select('room_id')) as { room_id: string }[];
    expect(running.length, 'pusher B holds no room with a Matrix room').toBeGreaterThan(0);
    expect(bExited, 'pusher B finished before the persister kill').toBe(false);
    const victim = `persister${shardOf(running[0]?.room_id ?? '', PERSISTERS) + 1}`;
    const victimPid = pidOf(victim);
    process.kill(victimPid, 'SIGKILL');
    const atPersisterKill = await sent();
    await sleep(3_000);
    await synapse.ensureRunning();
    expect(pidOf(victim)).not.toBe(victimPid);

    // 3. B runs on, and takes A's rooms once their leases expire (a room whose persister stayed
    // down through all of B's retries would fail and exit 3; the last push then redoes it).
    const rb = await b.done;
    expect([0, 3], rb.stderr).toContain(rb.code);

    // 4. A last push releases leases of dead local pushers and finishes whatever is left.
    const final = summary(await runCli([...base, 'push', '--json']));
    expect(final.failures).toEqual([]);
    expect(final.rooms.failed).toBe(0);
    expect(
      await countWhere(db, `select count(*) as n from matrix_ledger where status = 'pending'`),
    ).toBe(0);
    expect(await roomsWithSeveralPending(db)).toEqual([]);

    // 5. Read back over the CS API (persisters) and check; main must see the same timelines.
    const report = await checkExactlyOnce(db, clientTimeline);
    expect(problems(report)).toEqual(NO_PROBLEMS);
    expect(report.rooms.length).toBe(9);
    expect(report.totals.ferryEvents).toBe(report.totals.sentRows);
    expect(report.totals.messages).toBeGreaterThan(500);
    const admin = new AdminReader(synapse);
    for (const room of report.rooms) {
      const viaAdmin = (await admin.timeline(room.roomId)).map((e) => e.event_id);
      const viaClient = (await clientTimeline(room.roomId)).map((e) => e.event_id);
      expect(viaAdmin, room.room).toEqual(viaClient);
    }

    // 6. Every event was persisted by the persister the router assumes for its room (Synapse's
    // shard), the killed one included.
    const rows = await eventsByInstance();
    const byInstance: Record<string, number> = {};
    for (const r of rows) byInstance[r.instance] = (byInstance[r.instance] ?? 0) + r.n;
    const misplaced = rows.filter(
      (r) => r.instance !== `persister${shardOf(r.room_id, PERSISTERS) + 1}`,
    );
    expect(misplaced).toEqual([]);
    expect(byInstance[victim] ?? 0).toBeGreaterThan(0);
    const again = summary(await runCli([...base, 'push', '--json']));
    expect(again.events.sent).toBe(0);
    console.log(
      'workers test:',
      JSON.stringify({
        total,
        atPusherKill,
        atPersisterKill,
        victim,
        pusherB: rb.code,
        pusherBRetries: rb.stderr.split('\n').filter((l) => l.includes('retrying')).length,
        final: final.events,
        byInstance,
      }),
    );
  }, 900_000);
});
