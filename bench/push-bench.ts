/**
 * Push benchmark: `npm run bench:push -- [--messages 3000] [--rooms 6] [--users 200]
 * [--concurrency 1,4] [--seed 1] [--json] [--database-url postgres://…/postgres] [--timeout 1800]
 * [--keep] [--synapse-db sqlite|postgres]`
 *
 * 1. Generates a synthetic Slack export (bench/generate-slack-export.ts; `--rooms`
 *    conversations, `--users` users) and ingests it once into a template PostgreSQL database
 *    (`openStore` + `ingest(slackExportItems(zip), store, {input})`). Not measured.
 * 2. For each concurrency N, with a fresh copy of that database (`create database … template`):
 *    - `push`: a fresh Synapse (scripts/synapse.sh via test/support/synapse.ts: SQLite, or with
 *      `--synapse-db postgres` a fresh database on the same PostgreSQL server; a fresh
 *      `createRegistration` registration, user/alias prefix `_ferry_`, exclusive), then the real
 *      `push()` with concurrency N in a child process (peak RSS is that process's own);
 *    - `baseline`: another fresh Synapse, and bench/push-baseline.ts in a child process: the
 *      same number of Matrix events (per room: the senders and `ts` ferry's ledger recorded
 *      for the events it sent, in order) as raw `fetch` PUTs of plain-text `m.room.message`s,
 *      users pre-registered and joined (setup timed apart), same room order and concurrency.
 * 3. Prints a table (stderr when `--json`, which prints the figures as JSON on stdout).
 *    Synapse processes, their temp folders and the databases are removed at the end.
 *
 * Child mode (used by the parent): `push-bench.ts push-child --database-url U --homeserver H
 * --registration R --concurrency N` prints one `BENCH_RESULT {json}` line.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import type { BaselinePlan, BaselineResult } from './push-baseline.js';
import { captureFetch } from './push-capture.js';
import type { ReplayResult } from './push-replay.js';
import { openArchive } from '../src/archive/archive-reader.js';
import { adminQuery, databaseUrl, processCpuMs } from './bench-support.js';

const repoRoot = fileURLToPath(new URL('..', import.meta.url));
const selfScript = fileURLToPath(import.meta.url);
const baselineScript = fileURLToPath(new URL('./push-baseline.ts', import.meta.url));
const replayScript = fileURLToPath(new URL('./push-replay.ts', import.meta.url));
const PREFIX = '_ferry_';

const log = (line: string) => process.stderr.write(`${line}\n`);
const maxRss = () => process.resourceUsage().maxRSS * 1024;

// ---------------------------------------------------------------------------------------------
// Child: the real push

interface PushChildResult {
  mode: 'push';
  /** The whole push() call. */
  ms: number;
  /** From the start of push() to the end of user provisioning (first 'rooms' progress). */
  usersMs: number;
  summary: import('../src/matrix/push.js').PushSummary;
  maxRssBytes: number;
  maxRssAfterOpenBytes: number;
  cpuUserMs: number;
  cpuSystemMs: number;
  /** CPU time of the Synapse process during push() (with `--synapse-pid`). */
  synapseCpuMs?: number;
  /** Requests ferry made, by method (the capture, with `--capture`). */
  requests?: Record<string, number>;
}

async function pushChild(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      'database-url': { type: 'string' },
      homeserver: { type: 'string' },
      registration: { type: 'string' },
      concurrency: { type: 'string', default: '4' },
      capture: { type: 'string' },
      'synapse-pid': { type: 'string' },
    },
  });
  // Before the client is built: it takes the global fetch at construction.
  const captured = values.capture === undefined ? undefined : captureFetch();
  const synapsePid =
    values['synapse-pid'] === undefined ? undefined : Number(values['synapse-pid']);
  const { openStore } = await import('../src/store/store.js');
  const { configSchema } = await import('../src/cli/config.js');
  const { homeserverContext } = await import('../src/cli/commands/push.js');
  const { push } = await import('../src/matrix/push.js');
  const { silentLogger } = await import('../src/logger.js');
  const concurrency = Number(values.concurrency);
  const config = configSchema.parse({
    matrix: {
      homeserver: values.homeserver,
      registration: values.registration,
      userPrefix: PREFIX,
      aliasPrefix: PREFIX,
      concurrency,
    },
  });
  const store = await openStore({ databaseUrl: values['database-url'] });
  const rssAfterOpen = maxRss();
  try {
    const ctx = await homeserverContext(config, {}, silentLogger);
    const synapseCpu0 = synapsePid === undefined ? undefined : processCpuMs(synapsePid);
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    let usersMs: number | undefined;
    const summary = await push({
      db: store.knex,
      client: ctx.client,
      identity: ctx.identity,
      appserviceId: ctx.registration.id,
      botLocalpart: ctx.registration.sender_localpart,
      logger: silentLogger,
      concurrency,
      appendLate: false,
      readMarkers: config.matrix.readMarkers,
      allowDownload: false,
      openArchive,
      maxUploadBytes: config.matrix.maxUploadBytes,
      catalog: ctx.catalog,
      onProgress: (p) => {
        if (p.phase === 'rooms' && usersMs === undefined) usersMs = performance.now() - t0;
      },
    });
    const ms = performance.now() - t0;
    const cpu = process.cpuUsage(cpu0);
    const synapseCpu1 = synapsePid === undefined ? undefined : processCpuMs(synapsePid);
    const requests: Record<string, number> = {};
    for (const c of captured ?? []) requests[c.method] = (requests[c.method] ?? 0) + 1;
    if (captured !== undefined && values.capture !== undefined)
      await writeFile(values.capture, JSON.stringify(captured));
    const result: PushChildResult = {
      mode: 'push',
      ms,
      usersMs: usersMs ?? ms,
      summary,
      maxRssBytes: maxRss(),
      maxRssAfterOpenBytes: rssAfterOpen,
      cpuUserMs: cpu.user / 1000,
      cpuSystemMs: cpu.system / 1000,
      synapseCpuMs:
        synapseCpu0 === undefined || synapseCpu1 === undefined
          ? undefined
          : synapseCpu1 - synapseCpu0,
      requests: captured === undefined ? undefined : requests,
    };
    process.stdout.write(`BENCH_RESULT ${JSON.stringify(result)}\n`);
  } finally {
    await store.close();
  }
}

// ---------------------------------------------------------------------------------------------
// Parent

interface Options {
  messages: number;
  rooms: number;
  users: number;
  concurrency: number[];
  seed: number;
  json: boolean;
  adminUrl: string;
  timeoutMs: number;
  keep: boolean;
  /** Where each benchmark Synapse keeps its own data. */
  synapseDb: 'sqlite' | 'postgres';
  /** Rounds per concurrency (ferry, replay, plain each round; median and range reported). */
  repeat: number;
  /** py-spy binary: profile Synapse during every measured child (files in the temp folder). */
  pySpy?: string;
}

function parseOptions(): Options {
  const { values } = parseArgs({
    options: {
      messages: { type: 'string', default: '3000' },
      rooms: { type: 'string', default: '6' },
      users: { type: 'string', default: '200' },
      concurrency: { type: 'string', default: '1,4' },
      seed: { type: 'string', default: '1' },
      json: { type: 'boolean', default: false },
      'database-url': {
        type: 'string',
        default:
          process.env.FERRY_BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres',
      },
      timeout: { type: 'string', default: '1800' },
      keep: { type: 'boolean', default: false },
      'synapse-db': { type: 'string', default: 'sqlite' },
      repeat: { type: 'string', default: '1' },
      'py-spy': { type: 'string' },
    },
  });
  const synapseDb = values['synapse-db'];
  if (synapseDb !== 'sqlite' && synapseDb !== 'postgres') {
    throw new Error('--synapse-db must be sqlite or postgres');
  }
  const positive = (name: string, v: string) => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < 1) throw new Error(`--${name} must be a positive integer`);
    return n;
  };
  return {
    messages: positive('messages', values.messages),
    rooms: positive('rooms', values.rooms),
    users: positive('users', values.users),
    concurrency: values.concurrency.split(',').map((c) => positive('concurrency', c.trim())),
    seed: Number(values.seed),
    json: values.json,
    adminUrl: values['database-url'],
    timeoutMs: positive('timeout', values.timeout) * 1000,
    keep: values.keep,
    synapseDb,
    repeat: positive('repeat', values.repeat),
    pySpy: values['py-spy'],
  };
}

interface ChildRun<T> {
  processMs: number;
  result?: T;
  error?: string;
}

async function runChild<T>(
  script: string,
  args: string[],
  timeoutMs: number,
): Promise<ChildRun<T>> {
  const started = performance.now();
  const child = spawn(process.execPath, ['--import', 'tsx', script, ...args], {
    cwd: repoRoot,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    child.kill('SIGKILL');
  }, timeoutMs);
  const code = await new Promise<number | null>((resolve) => child.on('close', (c) => resolve(c)));
  clearTimeout(timer);
  const processMs = performance.now() - started;
  const line = stdout.split('\n').find((l) => l.startsWith('BENCH_RESULT '));
  if (line === undefined || code !== 0) {
    const why = timedOut ? `timed out after ${timeoutMs / 1000} s` : `exit code ${code}`;
    return { processMs, error: `${why}: ${stderr.trim().split('\n').slice(-5).join(' | ')}` };
  }
  return { processMs, result: JSON.parse(line.slice('BENCH_RESULT '.length)) as T };
}

/** Samples the 1-minute load average every second while a run is in progress. */
class LoadSampler {
  private samples: number[] = [];
  private timer: NodeJS.Timeout | undefined;
  start(): void {
    this.samples = [os.loadavg()[0]!];
    this.timer = setInterval(() => this.samples.push(os.loadavg()[0]!), 1000);
  }
  stop(): { start: number; max: number; end: number } {
    clearInterval(this.timer);
    this.samples.push(os.loadavg()[0]!);
    return {
      start: this.samples[0]!,
      max: Math.max(...this.samples),
      end: this.samples[this.samples.length - 1]!,
    };
  }
}

type SynapseHandle = import('../test/support/synapse.js').SynapseHandle;

function synapsePid(s: SynapseHandle): number {
  return Number(readFileSync(join(s.dir, 'synapse.pid'), 'utf8').trim());
}

interface RunFigures {
  /** Measured part (push() call / the replay / the baseline send loop). */
  ms: number;
  /** Without user provisioning (push: from the first 'rooms' progress; replay: from spaces). */
  roomsPhaseMs?: number;
  events: number;
  rooms: number;
  /** Sum of events / sum of per-room write durations: one room writer's rate. */
  perRoomRate?: number;
  maxRssBytes?: number;
  /** CPU time of the Node process during the measured part. */
  nodeCpuMs?: number;
  /** CPU time of the Synapse process during the measured part (/proc/PID/stat). */
  synapseCpuMs?: number;
  /** synapseCpuMs / messages of the export (the same divisor for every arm). */
  synapseCpuMsPerMessage?: number;
  load: { start: number; max: number; end: number };
  processMs: number;
  error?: string;
}

type PushFigures = RunFigures & {
  usersMs?: number;
  summary?: PushChildResult['summary'];
  ledgerSent?: number;
  maxRssAfterOpenBytes?: number;
  requests?: Record<string, number>;
};
type ReplayFigures = RunFigures & {
  requests?: number;
  uploads?: number;
  skippedReads?: number;
  prepareMs?: number;
};
type BaselineFigures = RunFigures & { setupMs?: number; users?: number };

/** One round at one concurrency: ferry, the replay of its requests, the plain messages. */
interface RoundReport {
  round: number;
  /** The order the three ran in this round (alternates between rounds). */
  order: string;
  push: PushFigures;
  replay: ReplayFigures;
  baseline: BaselineFigures;
  /** push time / replay time: ferry's own overhead. */
  ratioReplay?: number;
  /** push time / plain-message send-loop time. */
  ratio?: number;
  /** push time without user provisioning / baseline send-loop time. */
  ratioRoomsPhase?: number;
  /** Synapse CPU per message, ferry / plain baseline. */
  synapseCpuRatio?: number;
  /** Synapse CPU per message, replay / plain baseline. */
  synapseCpuRatioReplay?: number;
}

/** Median and range over rounds. */
interface Spread {
  median: number;
  min: number;
  max: number;
  n: number;
}

interface ConcurrencyReport {
  concurrency: number;
  rounds: RoundReport[];
  summary: Record<string, Spread | undefined>;
}

interface BenchReport {
  command: string;
  machine: {
    cpus: number;
    cpuModel: string;
    memoryBytes: number;
    node: string;
    postgres: string;
    synapse: string;
    /** Synapse's own database. */
    synapseDb: 'sqlite' | 'postgres';
    uname: string;
  };
  export: import('./generate-slack-export.js').GenerateResult;
  ingest: { ms: number; events: number };
  repeat: number;
  runs: ConcurrencyReport[];
}

interface LedgerRow {
  room_key: string;
  sender: string | null;
  ts: string | null;
  first_ms: string;
  last_ms: string;
}

/** Per room, in the order push claims rooms (room key): the senders and ts of sent events. */
async function ledgerPlan(
  url: string,
): Promise<{ plan: BaselinePlan; sent: number; perRoomRate?: number }> {
  const rows = await adminQuery<LedgerRow & { order_key: string; part: number }>(
    url,
    `select room_key, sender, ts::text as ts,
            (extract(epoch from min(updated_at) over (partition by room_key)) * 1000)::text as first_ms,
            (extract(epoch from max(updated_at) over (partition by room_key)) * 1000)::text as last_ms
       from matrix_ledger where status = 'sent'
      order by room_key, order_key, part`,
  );
  const rooms = new Map<string, { events: [string, number][]; ms: number }>();
  for (const r of rows) {
    let room = rooms.get(r.room_key);
    if (room === undefined) {
      room = { events: [], ms: Number(r.last_ms) - Number(r.first_ms) };
      rooms.set(r.room_key, room);
    }
    if (r.sender === null) throw new Error(`ledger row without sender in ${r.room_key}`);
    room.events.push([r.sender, r.ts === null ? Date.now() : Number(r.ts)]);
  }
  const timed = [...rooms.values()].filter((r) => r.ms > 0);
  const perRoomRate =
    timed.length === 0
      ? undefined
      : timed.reduce((a, r) => a + r.events.length, 0) /
        (timed.reduce((a, r) => a + r.ms, 0) / 1000);
  return {
    plan: { rooms: [...rooms].map(([key, r]) => ({ key, events: r.events })) },
    sent: rows.length,
    perRoomRate,
  };
}

let synapseVersion: string | undefined;

async function withSynapse<T>(o: Options, fn: (s: SynapseHandle) => Promise<T>): Promise<T> {
  const { startSynapse } = await import('../test/support/synapse.js');
  let dbName: string | undefined;
  if (o.synapseDb === 'postgres') {
    dbName = `ferry_bench_synapse_${randomBytes(6).toString('hex')}`;
    await adminQuery(
      o.adminUrl,
      `create database ${dbName} encoding 'UTF8' lc_collate 'C' lc_ctype 'C' template template0`,
    );
  }
  const synapse = await startSynapse(
    dbName === undefined ? {} : { databaseUrl: databaseUrl(o.adminUrl, dbName) },
  ).catch(async (e: unknown) => {
    if (dbName !== undefined) await adminQuery(o.adminUrl, `drop database ${dbName} with (force)`);
    throw e;
  });
  try {
    if (synapseVersion === undefined) {
      const res = await fetch(`${synapse.baseUrl}/_synapse/admin/v1/server_version`, {
        headers: { Authorization: `Bearer ${synapse.adminToken}` },
      });
      synapseVersion = ((await res.json()) as { server_version?: string }).server_version;
    }
    return await fn(synapse);
  } finally {
    await synapse.stop();
    if (dbName !== undefined) await adminQuery(o.adminUrl, `drop database ${dbName} with (force)`);
  }
}

/**
 * Starts `py-spy record` on Synapse (raw collapsed stacks, 50 Hz, only samples holding the GIL
 * — Python CPU, not threads waiting on I/O or the reactor idling in epoll —, non-blocking so
 * Synapse is not paused per sample); the returned function stops it (SIGINT makes py-spy write the file).
 */
async function startPySpy(bin: string, pid: number, file: string): Promise<() => Promise<void>> {
  const child = spawn(
    bin,
    [
      'record',
      '--pid',
      String(pid),
      '--format',
      'raw',
      '--rate',
      '50',
      '--gil',
      '--nonblocking',
      '-o',
      file,
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  const closed = new Promise<void>((resolve) => child.on('close', () => resolve()));
  await new Promise((r) => setTimeout(r, 1000));
  return async () => {
    child.kill('SIGINT');
    await closed;
    try {
      const { summarisePySpy, formatPySpy } = await import('./py-spy-summary.js');
      const summary = formatPySpy(summarisePySpy(readFileSync(file, 'utf8'), 20));
      await writeFile(`${file}.summary.txt`, `${summary}\n`);
      log(`  py-spy profile: ${file} (summary: ${file}.summary.txt)`);
    } catch (e) {
      log(`  py-spy failed: ${String(e)} ${stderr.slice(-300)}`);
    }
  };
}

/** Runs a child next to a fresh Synapse, with the load sampled and Synapse's CPU around it. */
async function childOnSynapse<T>(
  o: Options,
  script: string,
  args: (s: SynapseHandle) => string[],
  profileFile?: string,
): Promise<{ run: ChildRun<T>; load: RunFigures['load']; synapseCpuMs?: number }> {
  return withSynapse(o, async (synapse) => {
    const pid = synapsePid(synapse);
    const load = new LoadSampler();
    const profiler =
      o.pySpy === undefined || profileFile === undefined
        ? undefined
        : await startPySpy(o.pySpy, pid, profileFile);
    const cpu0 = processCpuMs(pid);
    load.start();
    const run = await runChild<T>(
      script,
      [
        ...args(synapse),
        '--homeserver',
        synapse.baseUrl,
        '--registration',
        synapse.registrationPath,
        '--synapse-pid',
        String(pid),
      ],
      o.timeoutMs,
    );
    const loadFigures = load.stop();
    const cpu1 = processCpuMs(pid);
    if (profiler !== undefined) await profiler();
    return {
      run,
      load: loadFigures,
      synapseCpuMs: cpu0 === undefined || cpu1 === undefined ? undefined : cpu1 - cpu0,
    };
  });
}

const perMessage = (o: RunContext, cpuMs: number | undefined) =>
  cpuMs === undefined ? undefined : cpuMs / o.messages;

interface RunContext {
  o: Options;
  concurrency: number;
  templateDb: string;
  tmp: string;
  /** Messages of the export: the divisor of Synapse CPU per message. */
  messages: number;
}

/** ferry's push() on a fresh copy of the ingested store; its requests are captured. */
async function runPush(
  ctx: RunContext,
  captureFile: string,
): Promise<{ figures: PushFigures; plan: BaselinePlan }> {
  const { o, concurrency } = ctx;
  const dbName = `ferry_bench_push_${randomBytes(6).toString('hex')}`;
  await adminQuery(o.adminUrl, `create database ${dbName} template ${ctx.templateDb}`);
  const url = databaseUrl(o.adminUrl, dbName);
  try {
    log(`concurrency ${concurrency}: ferry push …`);
    const f = await childOnSynapse<PushChildResult>(
      o,
      selfScript,
      () => [
        'push-child',
        '--database-url',
        url,
        '--concurrency',
        String(concurrency),
        '--capture',
        captureFile,
      ],
      captureFile.replace(/capture-(.*)\.json$/, 'py-spy-ferry-$1.txt'),
    );
    const r = f.run.result;
    if (r === undefined) throw new Error(`push failed: ${f.run.error}`);
    const ledger = await ledgerPlan(url);
    if (ledger.sent !== r.summary.events.sent)
      log(`  note: ledger holds ${ledger.sent} sent rows, push reported ${r.summary.events.sent}`);
    log(`  ${r.summary.events.sent} events in ${(r.ms / 1000).toFixed(1)} s`);
    const synapseCpuMs = r.synapseCpuMs ?? f.synapseCpuMs;
    return {
      plan: ledger.plan,
      figures: {
        ms: r.ms,
        roomsPhaseMs: r.ms - r.usersMs,
        usersMs: r.usersMs,
        events: r.summary.events.sent,
        rooms: r.summary.rooms.written,
        perRoomRate: ledger.perRoomRate,
        maxRssBytes: r.maxRssBytes,
        maxRssAfterOpenBytes: r.maxRssAfterOpenBytes,
        nodeCpuMs: r.cpuUserMs + r.cpuSystemMs,
        synapseCpuMs,
        synapseCpuMsPerMessage: perMessage(ctx, synapseCpuMs),
        load: f.load,
        processMs: f.run.processMs,
        summary: r.summary,
        ledgerSent: ledger.sent,
        requests: r.requests,
      },
    };
  } finally {
    await adminQuery(o.adminUrl, `drop database if exists ${dbName} with (force)`).catch(
      (e: unknown) => log(`could not drop ${dbName}: ${String(e)}`),
    );
  }
}

/** The bare fetch loop replaying ferry's captured writes (bench/push-replay.ts). */
async function runReplay(ctx: RunContext, captureFile: string): Promise<ReplayFigures> {
  log(`concurrency ${ctx.concurrency}: replay of ferry's requests (raw fetch) …`);
  const f = await childOnSynapse<ReplayResult>(
    ctx.o,
    replayScript,
    () => ['--capture', captureFile, '--concurrency', String(ctx.concurrency)],
    captureFile.replace(/capture-(.*)\.json$/, 'py-spy-replay-$1.txt'),
  );
  const r = f.run.result;
  log(
    r === undefined
      ? `  FAILED: ${f.run.error}`
      : `  ${r.requests} requests (${r.events} events) in ${(r.ms / 1000).toFixed(1)} s`,
  );
  const timed = (r?.perRoom ?? []).filter((x) => x.ms > 0);
  return {
    ms: r?.ms ?? NaN,
    roomsPhaseMs: r?.roomsPhaseMs,
    events: r?.events ?? 0,
    rooms: r?.rooms ?? 0,
    perRoomRate:
      timed.length === 0
        ? undefined
        : timed.reduce((a, x) => a + x.requests, 0) / (timed.reduce((a, x) => a + x.ms, 0) / 1000),
    maxRssBytes: r?.maxRssBytes,
    nodeCpuMs: r === undefined ? undefined : r.cpuUserMs + r.cpuSystemMs,
    synapseCpuMs: r?.synapseCpuMs,
    synapseCpuMsPerMessage: perMessage(ctx, r?.synapseCpuMs),
    load: f.load,
    processMs: f.run.processMs,
    error: f.run.error,
    requests: r?.requests,
    uploads: r?.uploads,
    skippedReads: r?.skippedReads,
    prepareMs: r?.prepareMs,
  };
}

/** The plain-message send loop (bench/push-baseline.ts), same senders, ts and room order. */
async function runBaseline(ctx: RunContext, plan: BaselinePlan): Promise<BaselineFigures> {
  log(`concurrency ${ctx.concurrency}: baseline (plain messages, raw fetch loop) …`);
  const planFile = join(ctx.tmp, `plan-${ctx.concurrency}.json`);
  await writeFile(planFile, JSON.stringify(plan));
  const f = await childOnSynapse<BaselineResult>(
    ctx.o,
    baselineScript,
    () => ['--plan', planFile, '--concurrency', String(ctx.concurrency)],
    join(ctx.tmp, `py-spy-plain-${ctx.concurrency}-${Date.now()}.txt`),
  );
  const b = f.run.result;
  log(
    b === undefined
      ? `  FAILED: ${f.run.error}`
      : `  ${b.events} events in ${(b.ms / 1000).toFixed(1)} s (setup ${(b.setupMs / 1000).toFixed(1)} s)`,
  );
  const timed = (b?.perRoom ?? []).filter((x) => x.ms > 0);
  return {
    ms: b?.ms ?? NaN,
    setupMs: b?.setupMs,
    events: b?.events ?? 0,
    rooms: b?.rooms ?? 0,
    users: b?.users,
    perRoomRate:
      timed.length === 0
        ? undefined
        : timed.reduce((a, x) => a + x.events, 0) / (timed.reduce((a, x) => a + x.ms, 0) / 1000),
    maxRssBytes: b?.maxRssBytes,
    nodeCpuMs: b === undefined ? undefined : b.cpuUserMs + b.cpuSystemMs,
    synapseCpuMs: b?.synapseCpuMs,
    synapseCpuMsPerMessage: perMessage(ctx, b?.synapseCpuMs),
    load: f.load,
    processMs: f.run.processMs,
    error: f.run.error,
  };
}

const ratioOf = (a: number | undefined, b: number | undefined) =>
  a === undefined || b === undefined || Number.isNaN(a) || Number.isNaN(b) || b === 0
    ? undefined
    : a / b;

/**
 * One round: odd rounds run ferry, replay, plain; even rounds plain, replay, ferry (replaying
 * the previous round's capture, which holds the same payloads), so drifting load touches all
 * three alike.
 */
async function benchRound(
  ctx: RunContext,
  round: number,
  previous: { capture: string; plan: BaselinePlan } | undefined,
): Promise<{ report: RoundReport; capture: string; plan: BaselinePlan }> {
  const capture = join(ctx.tmp, `capture-${ctx.concurrency}-${round}.json`);
  let push: PushFigures;
  let replay: ReplayFigures;
  let baseline: BaselineFigures;
  let plan: BaselinePlan;
  let order: string;
  if (previous === undefined || round % 2 === 1) {
    ({ figures: push, plan } = await runPush(ctx, capture));
    replay = await runReplay(ctx, capture);
    baseline = await runBaseline(ctx, plan);
    order = 'ferry, replay, plain';
  } else {
    baseline = await runBaseline(ctx, previous.plan);
    replay = await runReplay(ctx, previous.capture);
    ({ figures: push, plan } = await runPush(ctx, capture));
    order = 'plain, replay, ferry';
  }
  const report: RoundReport = {
    round,
    order,
    push,
    replay,
    baseline,
    ratioReplay: ratioOf(push.ms, replay.ms),
    ratio: ratioOf(push.ms, baseline.ms),
    ratioRoomsPhase: ratioOf(push.roomsPhaseMs, baseline.ms),
    synapseCpuRatio: ratioOf(push.synapseCpuMs, baseline.synapseCpuMs),
    synapseCpuRatioReplay: ratioOf(replay.synapseCpuMs, baseline.synapseCpuMs),
  };
  return { report, capture, plan };
}

function spread(values: (number | undefined)[]): Spread | undefined {
  const v = values.filter((x): x is number => x !== undefined && !Number.isNaN(x));
  if (v.length === 0) return undefined;
  v.sort((a, b) => a - b);
  const mid = Math.floor(v.length / 2);
  const median = v.length % 2 === 1 ? v[mid]! : (v[mid - 1]! + v[mid]!) / 2;
  return { median, min: v[0]!, max: v[v.length - 1]!, n: v.length };
}

async function benchConcurrency(
  o: Options,
  concurrency: number,
  templateDb: string,
  tmp: string,
  messages: number,
): Promise<ConcurrencyReport> {
  const ctx: RunContext = { o, concurrency, templateDb, tmp, messages };
  const rounds: RoundReport[] = [];
  let previous: { capture: string; plan: BaselinePlan } | undefined;
  for (let round = 1; round <= o.repeat; round++) {
    if (o.repeat > 1) log(`round ${round} of ${o.repeat}`);
    const r = await benchRound(ctx, round, previous);
    rounds.push(r.report);
    previous = { capture: r.capture, plan: r.plan };
  }
  const pick = (f: (r: RoundReport) => number | undefined) => spread(rounds.map(f));
  return {
    concurrency,
    rounds,
    summary: {
      pushMs: pick((r) => r.push.ms),
      replayMs: pick((r) => r.replay.ms),
      baselineMs: pick((r) => r.baseline.ms),
      ratioReplay: pick((r) => r.ratioReplay),
      ratio: pick((r) => r.ratio),
      pushSynapseCpuMsPerMessage: pick((r) => r.push.synapseCpuMsPerMessage),
      replaySynapseCpuMsPerMessage: pick((r) => r.replay.synapseCpuMsPerMessage),
      baselineSynapseCpuMsPerMessage: pick((r) => r.baseline.synapseCpuMsPerMessage),
      synapseCpuRatio: pick((r) => r.synapseCpuRatio),
      synapseCpuRatioReplay: pick((r) => r.synapseCpuRatioReplay),
      pushNodeCpuMs: pick((r) => r.push.nodeCpuMs),
      replayNodeCpuMs: pick((r) => r.replay.nodeCpuMs),
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Output

const mb = (bytes: number | undefined) =>
  bytes === undefined ? '–' : `${(bytes / 1e6).toFixed(0)} MB`;
const sec = (ms: number | undefined) =>
  ms === undefined || Number.isNaN(ms) ? '–' : `${(ms / 1000).toFixed(2)} s`;
const num = (n: number | undefined, digits = 0) =>
  n === undefined || Number.isNaN(n) ? '–' : n.toFixed(digits);
const x = (n: number | undefined) => (n === undefined ? '' : `${n.toFixed(2)}×`);
const range = (s: Spread | undefined, f: (n: number) => string) =>
  s === undefined ? '–' : s.n === 1 ? f(s.median) : `${f(s.median)} (${f(s.min)}–${f(s.max)})`;

function roundRows(r: RoundReport, c: number, repeat: number): string[][] {
  const tag = repeat > 1 ? `c=${c} #${r.round}` : `c=${c}`;
  const row = (name: string, f: RunFigures, ratioPlain?: number, ratioReplay?: number) => [
    `${tag} ${name}`,
    f.error !== undefined ? `FAILED: ${f.error.slice(0, 60)}` : String(f.events),
    String(f.rooms),
    sec(f.ms),
    num(f.events / (f.ms / 1000)),
    num(f.perRoomRate),
    mb(f.maxRssBytes),
    sec(f.nodeCpuMs),
    sec(f.synapseCpuMs),
    num(f.synapseCpuMsPerMessage, 1),
    num(f.load.max, 2),
    x(ratioReplay),
    x(ratioPlain),
  ];
  return [
    row('ferry push()', r.push, r.ratio, r.ratioReplay),
    row('replay (ferry payloads)', r.replay, ratioOf(r.replay.ms, r.baseline.ms), 1),
    row('plain messages', r.baseline, r.baseline.error ? undefined : 1),
  ];
}

function table(report: BenchReport): string {
  const rows: string[][] = [
    [
      'run',
      'events',
      'rooms',
      'time',
      'events/s',
      'per-room ev/s',
      'peak RSS',
      'node CPU',
      'Synapse CPU',
      'Syn ms/msg',
      'load (max)',
      'vs replay',
      'vs plain',
    ],
  ];
  for (const c of report.runs)
    for (const r of c.rounds) rows.push(...roundRows(r, c.concurrency, report.repeat));
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  const fmt = (r: string[]) => `| ${r.map((c, i) => c.padEnd(widths[i]!)).join(' | ')} |`;
  const e = report.export;
  const m = report.machine;
  const extra = report.runs.flatMap((c) => {
    const r = c.rounds[c.rounds.length - 1]!;
    const s = c.summary;
    return [
      `c=${c.concurrency} (${c.rounds.length} round(s), median (min–max)): ferry/replay ${range(s.ratioReplay, (n) => n.toFixed(3))}, ` +
        `ferry/plain ${range(s.ratio, (n) => n.toFixed(2))}; Synapse CPU ms per message: ferry ${range(s.pushSynapseCpuMsPerMessage, (n) => n.toFixed(1))}, ` +
        `replay ${range(s.replaySynapseCpuMsPerMessage, (n) => n.toFixed(1))}, plain ${range(s.baselineSynapseCpuMsPerMessage, (n) => n.toFixed(1))}; ` +
        `Synapse CPU ferry/plain ${range(s.synapseCpuRatio, (n) => n.toFixed(2))}, replay/plain ${range(s.synapseCpuRatioReplay, (n) => n.toFixed(2))}`,
      `c=${c.concurrency} last round: push users phase ${sec(r.push.usersMs)} (${r.push.summary?.users.created ?? '–'} users created), ` +
        `rooms ${r.push.summary?.rooms.written ?? '–'} written / ${r.push.summary?.rooms.failed ?? '–'} failed; ` +
        `ferry requests ${JSON.stringify(r.push.requests ?? {})}; replay ${r.replay.requests ?? '–'} writes ` +
        `(${r.replay.uploads ?? '–'} uploads; ${r.replay.skippedReads ?? '–'} ferry GETs not replayed), rooms phase ${sec(r.replay.roomsPhaseMs)}; ` +
        `plain baseline setup ${sec(r.baseline.setupMs)} (${r.baseline.users ?? '–'} users registered + joined, untimed)`,
    ];
  });
  return [
    `machine: ${m.cpus} × ${m.cpuModel}, ${mb(m.memoryBytes)} RAM; ${m.uname}; Node ${m.node}; ${m.postgres}; Synapse ${m.synapse} (${m.synapseDb === 'postgres' ? 'PostgreSQL, same server' : 'SQLite'})`,
    `export: ${e.messages} messages, ${e.conversations} conversations, ${e.users} users; ingested ${report.ingest.events} events in ${sec(report.ingest.ms)} (not measured below)`,
    '',
    fmt(rows[0]!),
    `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`,
    ...rows.slice(1).map(fmt),
    '',
    ...extra,
    '',
    'time = the push() call (users, space, rooms, events, m.direct) / the replay of all its writes / the plain send loop alone;',
    'Syn ms/msg = Synapse CPU (utime+stime, /proc/PID/stat) during the measured part / messages of the export;',
    'per-room ev/s = sum of events (replay: requests) / sum of per-room write spans;',
    'vs replay = push time / replay time (ferry own overhead); vs plain = time / plain-message loop time, same round.',
  ].join('\n');
}

async function main(): Promise<void> {
  if (process.argv[2] === 'push-child') {
    await pushChild(process.argv.slice(3));
    return;
  }
  const o = parseOptions();
  const tmp = await mkdtemp(join(os.tmpdir(), 'ferry-push-bench-'));
  const templateDb = `ferry_bench_push_tpl_${randomBytes(6).toString('hex')}`;
  let templateCreated = false;
  try {
    const { generateSlackExport } = await import('./generate-slack-export.js');
    const zip = join(tmp, 'slack-export.zip');
    log(`generating ${o.messages} messages over ${o.rooms} conversations into ${zip} …`);
    const generated = await generateSlackExport({
      messages: o.messages,
      out: zip,
      seed: o.seed,
      users: o.users,
      minConversations: o.rooms,
      messagesPerConversation: Math.ceil(o.messages / o.rooms),
    });
    await adminQuery(o.adminUrl, `create database ${templateDb}`);
    templateCreated = true;
    log('ingesting into PostgreSQL (template database) …');
    const { openStore } = await import('../src/store/store.js');
    const { ingest } = await import('../src/ingest/ingest.js');
    const { slackExportItems } = await import('../src/sources/slack/index.js');
    const store = await openStore({ databaseUrl: databaseUrl(o.adminUrl, templateDb) });
    const t0 = performance.now();
    const summary = await ingest(slackExportItems(zip), store, { input: zip });
    const ingestMs = performance.now() - t0;
    await store.close();
    const pgVersion = (
      await adminQuery<{ v: string }>(o.adminUrl, "select current_setting('server_version') as v")
    )[0]!.v;

    const runs: ConcurrencyReport[] = [];
    for (const c of o.concurrency)
      runs.push(await benchConcurrency(o, c, templateDb, tmp, generated.messages));

    const report: BenchReport = {
      command: `npm run bench:push -- ${process.argv.slice(2).join(' ')}`.trim(),
      machine: {
        cpus: os.availableParallelism(),
        cpuModel: os.cpus()[0]?.model ?? 'unknown',
        memoryBytes: os.totalmem(),
        node: process.version,
        postgres: `PostgreSQL ${pgVersion}`,
        synapse: synapseVersion ?? 'unknown',
        synapseDb: o.synapseDb,
        uname: `${os.type()} ${os.release()} ${os.machine()}`,
      },
      export: generated,
      ingest: { ms: ingestMs, events: summary.added.events },
      repeat: o.repeat,
      runs,
    };
    if (o.json) {
      log(table(report));
      process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
    } else {
      process.stdout.write(`${table(report)}\n`);
    }
  } finally {
    if (templateCreated)
      await adminQuery(o.adminUrl, `drop database if exists ${templateDb} with (force)`).catch(
        (e: unknown) => log(`could not drop ${templateDb}: ${String(e)}`),
      );
    if (!o.keep) await rm(tmp, { recursive: true, force: true });
    else log(`kept ${tmp}`);
  }
}

main().catch((e: unknown) => {
  process.stderr.write(`${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  process.exit(1);
});
