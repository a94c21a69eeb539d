/**
 * Crash tests of `ferry push` against a real Synapse and a real PostgreSQL store, with the real
 * CLI in a child process: kill -9 at several points, a Synapse restart in the middle of a push,
 * and two pushes at once on one store. Every scenario ends with the independent exactly-once
 * check of test/support/exactly-once.ts (rooms read back through the admin API).
 *
 * Synapse (SQLite, 2 cores) takes about 15 events/s here, so the exports are small: a few
 * hundred messages each, enough for every push to run for several seconds.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MatrixClient } from '../../src/matrix/client.js';
import { verifyRooms } from '../../src/matrix/verify.js';
import type { UserId } from '../../src/matrix/types.js';
import { openStore, type Store } from '../../src/store/store.js';
import { createPostgresDatabase } from '../support/databases.js';
import {
  checkExactlyOnce,
  countWhere,
  generateTestExport,
  NO_PROBLEMS,
  problems,
  roomsWithSeveralPending,
  writeScenarioConfig,
} from '../support/exactly-once.js';
import type { PushSummary } from '../../src/matrix/push.js';
import { AdminReader } from '../support/migration.js';
import { runCli, type CliResult } from '../support/run-cli.js';
import { startSynapse, type SynapseHandle } from '../support/synapse.js';

/** `ferry push --json` prints the PushSummary. */
type PushSummaryJson = PushSummary;

/** One import: its own database, config (prefix) and export. */
interface Scenario {
  name: string;
  dbUrl: string;
  config: string;
  store: Store;
  drop: () => Promise<void>;
  ferry: (...args: string[]) => Promise<CliResult>;
  start: (...args: string[]) => Running;
}

interface Running {
  child: ChildProcess;
  done: Promise<CliResult>;
}

let synapse: SynapseHandle;
let reader: AdminReader;
let work: string;
const scenarios: Scenario[] = [];
const timings: Record<string, number> = {};

/** `node bin/ferry.js …` as a child we can kill (runCli hides its child). */
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

async function scenario(
  name: string,
  prefix: string,
  exportOptions: { messages: number; conversations: number },
): Promise<Scenario> {
  const db = await createPostgresDatabase();
  const config = writeScenarioConfig(synapse, join(work, `${name}.yaml`), prefix);
  const zip = join(work, `${name}.zip`);
  await generateTestExport(zip, exportOptions);
  const base = ['--config', config, '--database', db.url];
  const s: Scenario = {
    name,
    dbUrl: db.url,
    config,
    store: undefined as unknown as Store,
    drop: db.drop,
    ferry: (...args) => runCli([...base, ...args]),
    start: (...args) => startFerry([...base, ...args]),
  };
  const ingest = await s.ferry('ingest', 'slack', zip, '--json');
  expect(ingest.code, ingest.stderr).toBe(0);
  s.store = await openStore({ databaseUrl: db.url, migrate: false });
  scenarios.push(s);
  return s;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Polls `condition` until it holds, then SIGKILLs the push. Returns false if the push ended on
 * its own first (the condition was never seen).
 */
async function killWhen(run: Running, condition: () => Promise<boolean>): Promise<boolean> {
  let exited = false;
  void run.done.then(() => (exited = true));
  for (;;) {
    if (exited) return false;
    if (await condition()) {
      run.child.kill('SIGKILL');
      await run.done;
      return true;
    }
    await sleep(15);
  }
}

function parseSummary(result: CliResult): PushSummaryJson {
  expect(result.code, result.stderr).toBe(0);
  return JSON.parse(result.stdout) as PushSummaryJson;
}

async function expectExactlyOnce(s: Scenario): Promise<void> {
  const report = await checkExactlyOnce(s.store.knex, (roomId) => reader.timeline(roomId));
  expect(problems(report)).toEqual(NO_PROBLEMS);
  expect(report.totals.sentRows).toBeGreaterThan(0);
  expect(report.totals.ferryEvents).toBe(report.totals.sentRows);

  // Cross-check with ferry's own verifier (read through the client-server API as the bot).
  const client = new MatrixClient({
    baseUrl: synapse.baseUrl,
    asToken: synapse.registration.as_token,
    serverName: synapse.serverName,
  });
  const verified = await verifyRooms({
    db: s.store.knex,
    client,
    botUserId: `@${synapse.registration.sender_localpart}:${synapse.serverName}` as UserId,
  });
  expect({
    missing: verified.missing,
    duplicated: verified.duplicated,
    not_pushed: verified.not_pushed,
  }).toEqual({
    missing: 0,
    duplicated: 0,
    not_pushed: 0,
  });
}

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'ferry-crash-'));
  const t = Date.now();
  synapse = await startSynapse();
  timings.synapseStart = Date.now() - t;
  reader = new AdminReader(synapse);
}, 240_000);

afterAll(async () => {
  for (const s of scenarios) {
    await s.store.close();
    await s.drop();
  }
  await synapse?.stop();
  rmSync(work, { recursive: true, force: true });
  console.log('push-crash timings (ms):', JSON.stringify(timings));
});

describe('ferry push survives crashes', () => {
  it('kill -9 while provisioning users, right after creating a room, at ~10 % and at ~50 %: the last run completes exactly once', async () => {
    const started = Date.now();
    const s = await scenario('kill', '_ferry_k_', { messages: 320, conversations: 4 });
    const db = s.store.knex;
    const storeEvents = await countWhere(db, 'select count(*) as n from events');
    const sent = () =>
      countWhere(db, `select count(*) as n from matrix_ledger where status = 'sent'`);

    const points: { name: string; when: () => Promise<boolean> }[] = [
      {
        name: 'users',
        when: async () => (await countWhere(db, 'select count(*) as n from matrix_users')) > 0,
      },
      {
        name: 'room created',
        when: async () =>
          (await countWhere(
            db,
            'select count(*) as n from matrix_rooms where room_id is not null',
          )) > 0,
      },
      { name: '10%', when: async () => (await sent()) >= storeEvents * 0.1 },
      { name: '50%', when: async () => (await sent()) >= storeEvents * 0.5 },
    ];
    const landed: Record<string, unknown>[] = [];
    for (const point of points) {
      const killed = await killWhen(s.start('push', '--json'), point.when);
      expect(killed, `push ended before the kill point "${point.name}"`).toBe(true);
      landed.push({
        point: point.name,
        users: await countWhere(db, 'select count(*) as n from matrix_users'),
        rooms: await countWhere(
          db,
          'select count(*) as n from matrix_rooms where room_id is not null',
        ),
        sent: await sent(),
        pending: await countWhere(
          db,
          `select count(*) as n from matrix_ledger where status = 'pending'`,
        ),
      });
      // The single-event-in-flight invariant: a crash leaves at most one pending row per room.
      expect(await roomsWithSeveralPending(db)).toEqual([]);
    }

    const final = parseSummary(await s.ferry('push', '--json'));
    expect(final.rooms.failed).toBe(0);
    expect(final.failures).toEqual([]);
    expect(final.late).toEqual({});
    expect(
      await countWhere(db, `select count(*) as n from matrix_ledger where status = 'pending'`),
    ).toBe(0);
    expect(
      await countWhere(db, `select count(*) as n from matrix_rooms where status <> 'done'`),
    ).toBe(0);
    await expectExactlyOnce(s);

    const again = parseSummary(await s.ferry('push', '--json'));
    expect(again.events.sent).toBe(0);
    expect(again.rooms.failed).toBe(0);
    console.log('kill points:', JSON.stringify(landed), 'final run:', JSON.stringify(final.events));
    timings.kill = Date.now() - started;
  }, 180_000);

  it('completes exactly once when Synapse restarts in the middle of a push', async () => {
    const started = Date.now();
    const s = await scenario('restart', '_ferry_r_', { messages: 160, conversations: 3 });
    const db = s.store.knex;
    const storeEvents = await countWhere(db, 'select count(*) as n from events');
    const run = s.start('push', '--json');
    let exited = false;
    void run.done.then(() => (exited = true));
    while (
      !exited &&
      (await countWhere(db, `select count(*) as n from matrix_ledger where status = 'sent'`)) <
        storeEvents * 0.2
    )
      await sleep(20);
    expect(exited, 'push ended before the restart').toBe(false);
    const t = Date.now();
    await synapse.restart();
    timings.synapseRestart = Date.now() - t;
    const result = await run.done;
    const summary = parseSummary(result);
    // The push felt the restart (and retried through it).
    expect(result.stderr).toContain('homeserver request failed; retrying');
    expect(summary.rooms.failed).toBe(0);
    expect(summary.failures).toEqual([]);
    await expectExactlyOnce(s);
    timings.restart = Date.now() - started;
  }, 180_000);

  it('two pushes at once on one PostgreSQL store split the rooms and write each exactly once', async () => {
    const started = Date.now();
    const s = await scenario('workers', '_ferry_w_', { messages: 200, conversations: 4 });
    const a = s.start('push', '--json', '--concurrency', '2');
    const b = s.start('push', '--json', '--concurrency', '2');
    const [ra, rb] = await Promise.all([a.done, b.done]);
    const sa = parseSummary(ra);
    const sb = parseSummary(rb);
    expect(sa.failures).toEqual([]);
    expect(sb.failures).toEqual([]);
    // 5 rooms (the space and 4 channels), each claimed by one process only.
    expect(sa.rooms.written + sb.rooms.written).toBe(5);
    expect(sa.rooms.written).toBeGreaterThan(0);
    expect(sb.rooms.written).toBeGreaterThan(0);
    expect(sa.events.already_sent + sb.events.already_sent).toBe(0);
    await expectExactlyOnce(s);
    timings.workers = Date.now() - started;
  }, 180_000);
});
