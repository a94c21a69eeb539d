/**
 * Synapse workers benchmark: `npm run bench:workers -- [--messages 1200] [--rooms 8]
 * [--concurrency 8] [--repeat 3] [--persisters 0,1,2] [--json]`
 *
 * 1. One homeserver per entry of `--persisters`, each with its own data dir and fresh
 *    PostgreSQL database (same server as the store): `0` is the monolith (scripts/synapse.sh as
 *    the tests use it, PostgreSQL), `N` is worker mode with N event persisters (`--workers N`:
 *    Redis, main, persister1..N, the router). Only one runs at a time: it is started before its
 *    push and stopped after it (not measured), so the bench holds few PostgreSQL connections
 *    on a server other processes share.
 * 2. Generates a synthetic Slack export and ingests it once (`ferry ingest slack`) into a
 *    template store. Not measured.
 * 3. `--repeat` rounds; each round pushes a fresh copy of the template store into every
 *    homeserver, in an order rotated per round (round 1: 0,1,2; round 2: 1,2,0; …) so that
 *    machine load falls on each mode alike. Each push is the real CLI (`ferry push --json
 *    --concurrency C`) with its own user/alias prefix, so every push creates its users and
 *    rooms from scratch. Measured: wall time of the CLI process, events sent (its summary), and
 *    the CPU time (/proc/PID/stat) of every Synapse process, the router, Redis, the PostgreSQL
 *    backends of that homeserver's database, and the ferry process itself.
 * 4. Prints per mode the median rate (events/s) with its spread, the median ratio against the
 *    monolith of the same round, and CPU-ms per event per process.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { createPostgresDatabase } from '../test/support/databases.js';
import { generateTestExport, writeScenarioConfig } from '../test/support/exactly-once.js';
import { startSynapse, type SynapseHandle } from '../test/support/synapse.js';

const log = (line: string) => process.stderr.write(`${line}\n`);
const ADMIN_URL = process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

interface Deployment {
  persisters: number;
  /** Kept across rounds (same data dir, database and port); started only for its pushes. */
  dir: string;
  port?: number;
  synapse?: SynapseHandle;
  db: { url: string; drop: () => Promise<void> };
}

interface RunResult {
  round: number;
  persisters: number;
  wallMs: number;
  events: number;
  rate: number;
  /** CPU ms during the push, per process name (main, persisterK, router, redis, postgres, ferry). */
  cpuMs: Record<string, number>;
  load1: [number, number];
}

/** user + system CPU of a process in ms (/proc/PID/stat, 10 ms clock ticks). */
function cpuMsOf(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(f[11]) + Number(f[12])) * 10;
  } catch {
    return undefined;
  }
}

/** This process's reaped children (the ferry CLI), cutime + cstime in ms. */
function childrenCpuMs(): number {
  const stat = readFileSync('/proc/self/stat', 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(f[13]) + Number(f[14])) * 10;
}

/** Synapse, router and Redis processes of a deployment, by name. */
function processesOf(d: Deployment): Record<string, number> {
  if (d.synapse === undefined) throw new Error('homeserver not started');
  const names =
    d.persisters === 0
      ? ['synapse']
      : [
          'synapse',
          'router',
          'redis',
          ...Array.from({ length: d.persisters }, (_, i) => `persister${i + 1}`),
        ];
  const out: Record<string, number> = {};
  for (const n of names) {
    const file = join(d.dir, `${n}.pid`);
    if (existsSync(file)) out[n === 'synapse' ? 'main' : n] = Number(readFileSync(file, 'utf8'));
  }
  return out;
}

async function backendPids(dbUrl: string): Promise<number[]> {
  const name = new URL(dbUrl).pathname.slice(1);
  const c = new pg.Client({ connectionString: ADMIN_URL });
  await c.connect();
  try {
    const r = await c.query<{ pid: number }>(
      'select pid from pg_stat_activity where datname = $1',
      [name],
    );
    return r.rows.map((x) => x.pid);
  } finally {
    await c.end();
  }
}

/** CPU snapshot: per process, plus the PostgreSQL backends of the homeserver's database. */
async function snapshot(d: Deployment): Promise<Map<string, number>> {
  const s = new Map<string, number>();
  for (const [name, pid] of Object.entries(processesOf(d))) s.set(name, cpuMsOf(pid) ?? 0);
  for (const pid of await backendPids(d.db.url)) s.set(`pg:${pid}`, cpuMsOf(pid) ?? 0);
  s.set('ferry', childrenCpuMs());
  return s;
}

function cpuDelta(a: Map<string, number>, b: Map<string, number>): Record<string, number> {
  const out: Record<string, number> = { postgres: 0 };
  for (const [k, v] of b) {
    const d = v - (a.get(k) ?? 0); // a backend born during the run counts from 0
    if (k.startsWith('pg:')) out.postgres! += d;
    else out[k] = d;
  }
  return out;
}

function runCli(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['bin/ferry.js', ...args], {
      env: { ...process.env, DATABASE_URL: '' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (x: Buffer) => (stdout += x.toString()));
    child.stderr.on('data', (x: Buffer) => (stderr += x.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

async function adminQuery(sql: string): Promise<void> {
  const c = new pg.Client({ connectionString: ADMIN_URL });
  await c.connect();
  try {
    await c.query(sql);
  } finally {
    await c.end();
  }
}

function withDb(name: string): string {
  const u = new URL(ADMIN_URL);
  u.pathname = `/${name}`;
  return u.toString();
}

async function pushOnce(
  d: Deployment,
  template: string,
  round: number,
  o: { concurrency: number; work: string },
): Promise<RunResult> {
  const name = `ferry_wbench_${randomBytes(4).toString('hex')}`;
  await adminQuery(`create database ${name} template ${template}`);
  try {
    const prefix = `_ferry_r${round}p${d.persisters}_`;
    const config = writeScenarioConfig(d.synapse!, join(o.work, `${name}.yaml`), prefix);
    const before = await snapshot(d);
    const load0 = os.loadavg()[0]!;
    const t0 = performance.now();
    const r = await runCli([
      '--config',
      config,
      '--database',
      withDb(name),
      'push',
      '--json',
      '--concurrency',
      String(o.concurrency),
    ]);
    const wallMs = performance.now() - t0;
    const after = await snapshot(d);
    if (r.code !== 0) throw new Error(`push into ${d.persisters} persisters failed: ${r.stderr}`);
    const summary = JSON.parse(r.stdout) as { events: { sent: number } };
    const events = summary.events.sent;
    return {
      round,
      persisters: d.persisters,
      wallMs,
      events,
      rate: events / (wallMs / 1000),
      cpuMs: cpuDelta(before, after),
      load1: [load0, os.loadavg()[0]!],
    };
  } finally {
    await adminQuery(`drop database if exists ${name} with (force)`);
  }
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};
const f1 = (x: number) => x.toFixed(1);
const f2 = (x: number) => x.toFixed(2);

function table(runs: RunResult[], modes: number[]): string {
  const lines = [
    '| mode | rate, events/s: median (min–max) | ratio vs monolith, same round: median (min–max) | CPU-ms per event, median: per process | Synapse+router+Redis+PG cores busy |',
    '|---|---|---|---|---|',
  ];
  for (const p of modes) {
    const mine = runs.filter((r) => r.persisters === p);
    const rates = mine.map((r) => r.rate);
    const ratios = mine.flatMap((r) => {
      const base = runs.find((b) => b.round === r.round && b.persisters === 0);
      return base === undefined ? [] : [r.rate / base.rate];
    });
    const names = [...new Set(mine.flatMap((r) => Object.keys(r.cpuMs)))].sort();
    const perEvent = names
      .map((n) => `${n} ${f2(median(mine.map((r) => (r.cpuMs[n] ?? 0) / r.events)))}`)
      .join(', ');
    const busy = median(
      mine.map(
        (r) =>
          Object.entries(r.cpuMs)
            .filter(([k]) => k !== 'ferry')
            .reduce((s, [, v]) => s + v, 0) / r.wallMs,
      ),
    );
    lines.push(
      `| ${p === 0 ? 'monolith' : `${p} persister${p > 1 ? 's' : ''}`} | ${f1(median(rates))} (${f1(Math.min(...rates))}–${f1(Math.max(...rates))}) | ${ratios.length === 0 ? '—' : `${f2(median(ratios))} (${f2(Math.min(...ratios))}–${f2(Math.max(...ratios))})`} | ${perEvent} | ${f2(busy)} |`,
    );
  }
  return lines.join('\n');
}

async function up(d: Deployment): Promise<void> {
  const t = performance.now();
  d.synapse = await startSynapse({
    dir: d.dir,
    databaseUrl: d.db.url,
    ...(d.port === undefined ? {} : { port: d.port }),
    ...(d.persisters === 0 ? {} : { workers: d.persisters }),
  });
  d.port = d.synapse.port;
  log(`homeserver with ${d.persisters} persisters up in ${f1((performance.now() - t) / 1000)} s`);
}

async function down(d: Deployment): Promise<void> {
  await d.synapse?.stop();
  d.synapse = undefined;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      messages: { type: 'string', default: '1200' },
      rooms: { type: 'string', default: '8' },
      concurrency: { type: 'string', default: '8' },
      repeat: { type: 'string', default: '3' },
      persisters: { type: 'string', default: '0,1,2' },
      json: { type: 'boolean', default: false },
    },
  });
  const modes = values.persisters.split(',').map(Number);
  const repeat = Number(values.repeat);
  const concurrency = Number(values.concurrency);
  const work = await mkdtemp(join(os.tmpdir(), 'ferry-wbench-'));
  const deployments: Deployment[] = [];
  const template = `ferry_wbench_t_${randomBytes(4).toString('hex')}`;
  try {
    for (const p of modes) {
      const db = await createPostgresDatabase({ synapse: true });
      deployments.push({ persisters: p, dir: await mkdtemp(join(work, `hs${p}-`)), db });
    }
    const zip = join(work, 'export.zip');
    const gen = await generateTestExport(zip, {
      messages: Number(values.messages),
      conversations: Number(values.rooms),
      seed: 11,
      users: 40,
    });
    await adminQuery(`create database ${template}`);
    const ing = await runCli(['--database', withDb(template), 'ingest', 'slack', zip, '--json']);
    if (ing.code !== 0) throw new Error(`ingest failed: ${ing.stderr}`);

    const runs: RunResult[] = [];
    for (let round = 0; round < repeat; round++) {
      for (let i = 0; i < deployments.length; i++) {
        const d = deployments[(round + i) % deployments.length]!;
        await up(d);
        const r = await pushOnce(d, template, round, { concurrency, work }).finally(() => down(d));
        log(
          `round ${round + 1}: ${d.persisters} persisters: ${r.events} events in ${f1(r.wallMs / 1000)} s = ${f1(r.rate)}/s; load ${f2(r.load1[0])}→${f2(r.load1[1])}; cpu ${JSON.stringify(r.cpuMs)}`,
        );
        runs.push(r);
      }
    }
    const machine = {
      nproc: os.availableParallelism(),
      cpu: os.cpus()[0]?.model ?? 'unknown',
      uname: `${os.type()} ${os.release()} ${os.arch()}`,
      node: process.version,
      loadavg: os.loadavg(),
    };
    const out = table(runs, modes);
    if (values.json) {
      log(out);
      process.stdout.write(
        `${JSON.stringify({ machine, export: gen, concurrency, runs }, null, 2)}\n`,
      );
    } else {
      process.stdout.write(`${JSON.stringify(machine)}\n${out}\n`);
    }
  } finally {
    for (const d of deployments) {
      await down(d);
      await d.db.drop();
    }
    await adminQuery(`drop database if exists ${template} with (force)`).catch(() => undefined);
    await rm(work, { recursive: true, force: true });
  }
}

main().catch((e: unknown) => {
  process.stderr.write(`${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  process.exit(1);
});
