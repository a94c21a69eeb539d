/**
 * Scale benchmark: how `ferry push` and Synapse's CPU grow with a room's member count and with
 * the length of the history a room already holds.
 *
 *   npm run bench:scale -- [--members 10,100,1000] [--history 1000,10000,30000] [--messages 600]
 *     [--users 12] [--repeat 2] [--window 400] [--fill-concurrency 8] [--seed 1] [--json]
 *     [--database-url postgres://…/postgres] [--synapse-db postgres|sqlite] [--timeout 1800]
 *
 * Method (one Synapse for the whole run, so every figure is compared within the run):
 * 1. One synthetic Slack export with one channel (`--messages`, few posters: `--users`) is
 *    ingested once into a template PostgreSQL store (bench/generate-slack-export.ts, real
 *    `ingest()`). Every push below pushes exactly these events, from a fresh copy of that store.
 * 2. Target rooms are made by the fastest honest means and left as they are:
 *    - member rooms: a public room per member count N, joined by ghost users registered through
 *      the AS until it has N members (the posters ferry joins count towards N);
 *    - history rooms: a small control room and one history room, filled with plain-text
 *      `m.room.message`s sent as the AS bot (raw `fetch`, `--fill-concurrency` requests in
 *      flight). The history room grows through the `--history` sizes; the fill rate itself is
 *      reported (a bare client's rate against history length).
 * 3. A push into an existing room: each push gets its own alias prefix, and the alias ferry
 *    will look for is pointed at the target room first (ferry adopts a room found by its alias),
 *    so the same export lands in rooms of different sizes. The real `push()` runs in a child
 *    process, as bench/push-bench.ts runs it.
 * 4. Figures per push: the whole push; and the marginal rate over the last `--window` sends
 *    (ledger `updated_at` of the last sent rows, so user provisioning and the joins of the first
 *    posts are outside it), with Synapse's CPU (utime + stime from /proc/<pid>/stat, sampled
 *    every 250 ms and interpolated) over the same window, per event.
 * Order: member counts are pushed round-robin, `--repeat` times (10, 100, 1000, 10, …); each
 * history size is pushed next to a push into the control room (control, history, control,
 * history, then the room grows), so that load hits both. Medians over the repeats, with the
 * spread, and ratios against the smallest size of the same run.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { openArchive } from '../src/archive/archive-reader.js';
import { adminQuery, databaseUrl, requireCpuMs } from './bench-support.js';

const repoRoot = fileURLToPath(new URL('..', import.meta.url));
const selfScript = fileURLToPath(import.meta.url);
const USER_PREFIX = '_ferry_';
const log = (line: string) => process.stderr.write(`${line}\n`);

// ---------------------------------------------------------------------------------------------
// Child: the real push into a room that already exists

interface PushChildResult {
  ms: number;
  summary: import('../src/matrix/push.js').PushSummary;
  maxRssBytes: number;
}

async function pushChild(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      'database-url': { type: 'string' },
      homeserver: { type: 'string' },
      registration: { type: 'string' },
      'alias-prefix': { type: 'string' },
    },
  });
  const { openStore } = await import('../src/store/store.js');
  const { configSchema } = await import('../src/cli/config.js');
  const { homeserverContext } = await import('../src/cli/commands/push.js');
  const { push } = await import('../src/matrix/push.js');
  const { silentLogger } = await import('../src/logger.js');
  const config = configSchema.parse({
    matrix: {
      homeserver: values.homeserver,
      registration: values.registration,
      userPrefix: USER_PREFIX,
      aliasPrefix: values['alias-prefix'],
      concurrency: 1,
    },
  });
  const store = await openStore({ databaseUrl: values['database-url'] });
  try {
    const ctx = await homeserverContext(config, {}, silentLogger);
    const t0 = performance.now();
    const summary = await push({
      db: store.knex,
      client: ctx.client,
      identity: ctx.identity,
      // Every push sends the same export: its own transaction IDs keep Synapse's transaction
      // cache (30+ min) from answering a later push into the same room with the earlier events.
      appserviceId: `${ctx.registration.id}-${values['alias-prefix']}`,
      botLocalpart: ctx.registration.sender_localpart,
      logger: silentLogger,
      concurrency: 1,
      appendLate: false,
      readMarkers: config.matrix.readMarkers,
      allowDownload: false,
      openArchive,
      maxUploadBytes: config.matrix.maxUploadBytes,
      catalog: ctx.catalog,
    });
    const result: PushChildResult = {
      ms: performance.now() - t0,
      summary,
      maxRssBytes: process.resourceUsage().maxRSS * 1024,
    };
    process.stdout.write(`BENCH_RESULT ${JSON.stringify(result)}\n`);
  } finally {
    await store.close();
  }
}

// ---------------------------------------------------------------------------------------------
// Parent: options, databases, Synapse

interface Options {
  members: number[];
  history: number[];
  messages: number;
  users: number;
  repeat: number;
  window: number;
  fillConcurrency: number;
  seed: number;
  json: boolean;
  adminUrl: string;
  synapseDb: 'postgres' | 'sqlite';
  timeoutMs: number;
}

const list = (s: string) =>
  s === ''
    ? []
    : s
        .split(',')
        .map(Number)
        .filter((n) => Number.isFinite(n) && n >= 0);

function parseOptions(): Options {
  const { values } = parseArgs({
    options: {
      members: { type: 'string', default: '10,100,1000' },
      history: { type: 'string', default: '1000,10000,30000' },
      messages: { type: 'string', default: '600' },
      users: { type: 'string', default: '12' },
      repeat: { type: 'string', default: '2' },
      window: { type: 'string', default: '400' },
      'fill-concurrency': { type: 'string', default: '8' },
      seed: { type: 'string', default: '1' },
      json: { type: 'boolean', default: false },
      'database-url': {
        type: 'string',
        default:
          process.env.FERRY_BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres',
      },
      'synapse-db': { type: 'string', default: 'postgres' },
      timeout: { type: 'string', default: '1800' },
    },
  });
  const synapseDb = values['synapse-db'];
  if (synapseDb !== 'postgres' && synapseDb !== 'sqlite')
    throw new Error(`--synapse-db must be postgres or sqlite, not ${synapseDb}`);
  return {
    members: list(values.members).sort((a, b) => a - b),
    history: list(values.history).sort((a, b) => a - b),
    messages: Number(values.messages),
    users: Number(values.users),
    repeat: Math.max(1, Number(values.repeat) || 1),
    window: Number(values.window),
    fillConcurrency: Math.max(1, Number(values['fill-concurrency']) || 1),
    seed: Number(values.seed),
    json: values.json,
    adminUrl: values['database-url'],
    synapseDb,
    timeoutMs: Number(values.timeout) * 1000,
  };
}

type SynapseHandle = import('../test/support/synapse.js').SynapseHandle;

/** Synapse's CPU time sampled against the wall clock, for CPU over any window of a run. */
class CpuSampler {
  private readonly samples: [ms: number, cpuMs: number][] = [];
  private readonly timer: NodeJS.Timeout;
  constructor(private readonly pid: number) {
    this.sample();
    this.timer = setInterval(() => this.sample(), 250);
  }
  private sample(): void {
    this.samples.push([Date.now(), requireCpuMs(this.pid)]);
  }
  stop(): void {
    this.sample();
    clearInterval(this.timer);
  }
  /** CPU ms at wall time `t` (ms since the epoch), linearly interpolated. */
  at(t: number): number {
    const s = this.samples;
    if (t <= s[0]![0]) return s[0]![1];
    for (let i = 1; i < s.length; i += 1) {
      const [t1, c1] = s[i]!;
      const [t0, c0] = s[i - 1]!;
      if (t <= t1) return c0 + ((c1 - c0) * (t - t0)) / Math.max(1, t1 - t0);
    }
    return s[s.length - 1]![1];
  }
}

/** A client of the homeserver as the AS (raw fetch, no retries). */
class AsClient {
  private readonly headers: Record<string, string>;
  constructor(
    private readonly s: SynapseHandle,
    asToken: string,
  ) {
    this.headers = { Authorization: `Bearer ${asToken}`, 'Content-Type': 'application/json' };
  }
  serverName(): string {
    return this.s.serverName;
  }
  async call(method: string, path: string, body?: unknown): Promise<Record<string, unknown>> {
    const res = await fetch(`${this.s.baseUrl}/_matrix/client/v3${path}`, {
      method,
      headers: this.headers,
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    if (!res.ok) throw new Error(`${method} ${path.split('?')[0]}: ${res.status} ${text}`);
    return JSON.parse(text) as Record<string, unknown>;
  }
}

async function pool<T>(items: T[], n: number, fn: (item: T, i: number) => Promise<void>) {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(n, items.length) }, async () => {
      while (next < items.length) {
        const i = next++;
        await fn(items[i]!, i);
      }
    }),
  );
}

const enc = encodeURIComponent;

// ---------------------------------------------------------------------------------------------
// Target rooms

interface FillFigures {
  events: number;
  ms: number;
  synapseCpuMs: number;
}

async function createRoom(as: AsClient): Promise<string> {
  const r = await as.call('POST', '/createRoom', {
    preset: 'public_chat',
    power_level_content_override: { events_default: 0, users_default: 0 },
  });
  return r.room_id as string;
}

/** Joins ghost users `fill_<tag>_<i>` until the room has `members` joined members. */
async function fillMembers(
  as: AsClient,
  o: Options,
  roomId: string,
  tag: string,
  count: number,
  pid: number,
): Promise<FillFigures> {
  const names = Array.from({ length: count }, (_, i) => `${USER_PREFIX}fill_${tag}_${i}`);
  const t0 = performance.now();
  const cpu0 = requireCpuMs(pid);
  await pool(names, o.fillConcurrency, async (name) => {
    await as
      .call('POST', '/register', {
        type: 'm.login.application_service',
        username: name,
        inhibit_login: true,
      })
      .catch((e: unknown) => {
        if (!String(e).includes('M_USER_IN_USE')) throw e;
      });
    const mxid = `@${name}:${as.serverName()}`;
    await as.call('POST', `/rooms/${enc(roomId)}/join?user_id=${enc(mxid)}`, {});
  });
  return { events: count, ms: performance.now() - t0, synapseCpuMs: requireCpuMs(pid) - cpu0 };
}

/** Sends `count` plain messages as the AS bot, `--fill-concurrency` in flight. */
async function fillHistory(
  as: AsClient,
  o: Options,
  roomId: string,
  from: number,
  count: number,
  pid: number,
): Promise<FillFigures> {
  const ids = Array.from({ length: count }, (_, i) => from + i);
  const t0 = performance.now();
  const cpu0 = requireCpuMs(pid);
  let done = 0;
  await pool(ids, o.fillConcurrency, async (i) => {
    await as.call('PUT', `/rooms/${enc(roomId)}/send/m.room.message/fill-${roomId}-${i}`, {
      msgtype: 'm.text',
      body: `history message ${i}: earlier talk in this room, filled in before the import`,
    });
    done += 1;
    if (done % 5000 === 0) log(`    … ${from + done} events`);
  });
  return { events: count, ms: performance.now() - t0, synapseCpuMs: requireCpuMs(pid) - cpu0 };
}

// ---------------------------------------------------------------------------------------------
// One push into a target room

interface PushFigures {
  /** Which series and size (members or prefilled history events). */
  series: 'members' | 'history' | 'control';
  size: number;
  /** Events the room held before the push. */
  roomEvents: number;
  ms: number;
  sent: number;
  /** Events/s over the last `window` sends. */
  tailRate: number;
  /** Synapse CPU ms per event over the same window. */
  tailCpuPerEvent: number;
  /** Synapse CPU ms per event over the whole push. */
  cpuPerEvent: number;
  maxRssBytes: number;
  load: number;
}

interface Ctx {
  o: Options;
  synapse: SynapseHandle;
  as: AsClient;
  pid: number;
  templateDb: string;
  tmp: string;
  pushes: number;
  /** Native ID of the export's channel (for the alias ferry looks for) and its store key. */
  channel: string;
  channelKey: string;
}

async function joinedMembers(ctx: Ctx, roomId: string): Promise<number> {
  const res = await fetch(`${ctx.synapse.baseUrl}/_synapse/admin/v1/rooms/${enc(roomId)}`, {
    headers: { Authorization: `Bearer ${ctx.synapse.adminToken}` },
  });
  const body = (await res.json()) as { joined_members?: number };
  return body.joined_members ?? -1;
}

async function pushInto(
  ctx: Ctx,
  roomId: string,
  series: PushFigures['series'],
  size: number,
  roomEvents: number,
): Promise<PushFigures> {
  const n = (ctx.pushes += 1);
  const aliasPrefix = `${USER_PREFIX}p${n}_`;
  const alias = `#${aliasPrefix}slack_${ctx.channel.toLowerCase()}:${ctx.synapse.serverName}`;
  await ctx.as.call('PUT', `/directory/room/${enc(alias)}`, { room_id: roomId });
  const dbName = `ferry_bench_scale_${randomBytes(6).toString('hex')}`;
  await adminQuery(ctx.o.adminUrl, `create database ${dbName} template ${ctx.templateDb}`);
  const url = databaseUrl(ctx.o.adminUrl, dbName);
  try {
    const sampler = new CpuSampler(ctx.pid);
    const load = os.loadavg()[0]!;
    const run = await runChild([
      'push-child',
      '--database-url',
      url,
      '--homeserver',
      ctx.synapse.baseUrl,
      '--registration',
      ctx.synapse.registrationPath,
      '--alias-prefix',
      aliasPrefix,
    ]);
    sampler.stop();
    const rows = await adminQuery<{ ms: string; room_id: string }>(
      url,
      `select (extract(epoch from l.updated_at) * 1000)::text as ms, r.room_id
         from matrix_ledger l join matrix_rooms r using (room_key)
        where l.status = 'sent' and l.room_key = '${ctx.channelKey}' order by l.updated_at`,
    );
    if (rows.some((r) => r.room_id !== roomId))
      throw new Error(`push ${n} did not adopt room ${roomId} through ${alias}`);
    const times = rows.map((r) => Number(r.ms));
    const w = Math.min(ctx.o.window, times.length - 1);
    const tEnd = times[times.length - 1]!;
    const tStart = times[times.length - 1 - w]!;
    const whole = sampler.at(tEnd) - sampler.at(times[0]!);
    return {
      series,
      size,
      roomEvents,
      ms: run.ms,
      sent: run.summary.events.sent,
      tailRate: w / ((tEnd - tStart) / 1000),
      tailCpuPerEvent: (sampler.at(tEnd) - sampler.at(tStart)) / w,
      cpuPerEvent: whole / Math.max(1, times.length - 1),
      maxRssBytes: run.maxRssBytes,
      load,
    };
  } finally {
    await adminQuery(ctx.o.adminUrl, `drop database if exists ${dbName} with (force)`);
  }
}

async function runChild(args: string[]): Promise<PushChildResult> {
  const child = spawn(process.execPath, ['--import', 'tsx', selfScript, ...args], {
    cwd: repoRoot,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  const line = stdout.split('\n').find((l) => l.startsWith('BENCH_RESULT '));
  if (line === undefined || code !== 0)
    throw new Error(
      `push child failed (exit ${code}): ${stderr.trim().split('\n').slice(-5).join(' | ')}`,
    );
  const result = JSON.parse(line.slice('BENCH_RESULT '.length)) as PushChildResult;
  if (result.summary.failures.length > 0)
    throw new Error(`push failed: ${JSON.stringify(result.summary.failures)}`);
  return result;
}

// ---------------------------------------------------------------------------------------------
// Series

async function membersSeries(ctx: Ctx, posters: number): Promise<PushFigures[]> {
  const rooms: { size: number; roomId: string; fill: FillFigures }[] = [];
  for (const size of ctx.o.members) {
    const roomId = await createRoom(ctx.as);
    // The bot and the export's posters (joined by the first push) count towards the size.
    const fill = Math.max(0, size - 1 - posters);
    log(`members ${size}: joining ${fill} users …`);
    rooms.push({
      size,
      roomId,
      fill: await fillMembers(ctx.as, ctx.o, roomId, `m${size}`, fill, ctx.pid),
    });
  }
  const out: PushFigures[] = [];
  for (let r = 0; r < ctx.o.repeat; r += 1) {
    for (const room of rooms) {
      log(`members ${room.size}, round ${r + 1}: push …`);
      const f = await pushInto(ctx, room.roomId, 'members', room.size, 0);
      f.roomEvents = await joinedMembers(ctx, room.roomId);
      log(`  ${fmtPush(f)}, ${f.roomEvents} joined`);
      out.push(f);
    }
  }
  return out;
}

async function historySeries(ctx: Ctx): Promise<{ pushes: PushFigures[]; fills: FillRow[] }> {
  const room = await createRoom(ctx.as);
  let held = 0;
  const pushes: PushFigures[] = [];
  const fills: FillRow[] = [];
  for (const size of ctx.o.history) {
    if (size > held) {
      log(`history: filling the room from ${held} to ${size} events …`);
      const f = await fillHistory(ctx.as, ctx.o, room, held, size - held, ctx.pid);
      fills.push({ from: held, to: size, ...f });
      log(`  ${(f.events / (f.ms / 1000)).toFixed(1)} events/s`);
      held = size;
    }
    for (let r = 0; r < ctx.o.repeat; r += 1) {
      log(`history ${size}, round ${r + 1}: push into an empty room (control) …`);
      const c = await pushInto(ctx, await createRoom(ctx.as), 'control', size, 0);
      log(`  ${fmtPush(c)}`);
      log(`history ${size}, round ${r + 1}: push into the room holding ${held} events …`);
      const h = await pushInto(ctx, room, 'history', size, held);
      log(`  ${fmtPush(h)}`);
      held += h.sent;
      pushes.push(c, h);
    }
  }
  return { pushes, fills };
}

interface FillRow extends FillFigures {
  from: number;
  to: number;
}

const fmtPush = (f: PushFigures) =>
  `${f.sent} events in ${(f.ms / 1000).toFixed(1)} s; last ${Math.round(f.tailRate)} ev/s, ` +
  `Synapse ${f.tailCpuPerEvent.toFixed(1)} CPU-ms/event`;

// ---------------------------------------------------------------------------------------------
// Report

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

interface Group {
  series: PushFigures['series'];
  size: number;
  n: number;
  pushS: number;
  tailRate: number;
  tailRateRange: [number, number];
  tailCpuPerEvent: number;
  tailCpuRange: [number, number];
  cpuPerEvent: number;
  /** Against the smallest size of the series (control: against itself). */
  rateRatio: number;
  cpuRatio: number;
  /** History only: against the control pushes made next to it. */
  rateVsControl?: number;
  cpuVsControl?: number;
  roomEvents: number;
}

function groups(pushes: PushFigures[]): Group[] {
  const keys = [...new Set(pushes.map((p) => `${p.series}:${p.size}`))];
  const out: Group[] = keys.map((k) => {
    const ps = pushes.filter((p) => `${p.series}:${p.size}` === k);
    const rates = ps.map((p) => p.tailRate);
    const cpus = ps.map((p) => p.tailCpuPerEvent);
    return {
      series: ps[0]!.series,
      size: ps[0]!.size,
      n: ps.length,
      pushS: median(ps.map((p) => p.ms)) / 1000,
      tailRate: median(rates),
      tailRateRange: [Math.min(...rates), Math.max(...rates)],
      tailCpuPerEvent: median(cpus),
      tailCpuRange: [Math.min(...cpus), Math.max(...cpus)],
      cpuPerEvent: median(ps.map((p) => p.cpuPerEvent)),
      rateRatio: 1,
      cpuRatio: 1,
      roomEvents: median(ps.map((p) => p.roomEvents)),
    };
  });
  for (const series of ['members', 'history', 'control'] as const) {
    const gs = out.filter((g) => g.series === series);
    const base = gs[0];
    if (base === undefined) continue;
    for (const g of gs) {
      g.rateRatio = g.tailRate / base.tailRate;
      g.cpuRatio = g.tailCpuPerEvent / base.tailCpuPerEvent;
      const control = out.find((c) => c.series === 'control' && c.size === g.size);
      if (series === 'history' && control !== undefined) {
        g.rateVsControl = g.tailRate / control.tailRate;
        g.cpuVsControl = g.tailCpuPerEvent / control.tailCpuPerEvent;
      }
    }
  }
  return out;
}

function table(gs: Group[], fills: FillRow[], window: number): string {
  const f1 = (n: number) => n.toFixed(1);
  const f2 = (n: number) => n.toFixed(2);
  const lines = [
    `| series | size | room (members / events before) | pushes | push time | last ${window}: events/s (range) | Synapse CPU-ms/event (range) | rate vs smallest | CPU vs smallest | rate / CPU vs empty room |`,
    '|---|---|---|---|---|---|---|---|---|---|',
  ];
  for (const g of gs) {
    const label = g.series === 'control' ? `empty room, next to history ${g.size}` : g.series;
    lines.push(
      `| ${label} | ${g.series === 'control' ? '–' : g.size} | ${g.roomEvents} | ${g.n} | ${f1(g.pushS)} s | ` +
        `${f1(g.tailRate)} (${f1(g.tailRateRange[0])}–${f1(g.tailRateRange[1])}) | ` +
        `${f1(g.tailCpuPerEvent)} (${f1(g.tailCpuRange[0])}–${f1(g.tailCpuRange[1])}) | ` +
        `${g.series === 'control' ? '–' : `${f2(g.rateRatio)}×`} | ${g.series === 'control' ? '–' : `${f2(g.cpuRatio)}×`} | ` +
        `${g.rateVsControl === undefined ? '–' : `${f2(g.rateVsControl)}× / ${f2(g.cpuVsControl!)}×`} |`,
    );
  }
  if (fills.length > 0) {
    lines.push(
      '',
      '| history fill (raw client, plain messages) | events | events/s | Synapse CPU-ms/event |',
    );
    lines.push('|---|---|---|---|');
    for (const f of fills)
      lines.push(
        `| ${f.from} → ${f.to} | ${f.events} | ${f1(f.events / (f.ms / 1000))} | ${f1(f.synapseCpuMs / f.events)} |`,
      );
  }
  return lines.join('\n');
}

// ---------------------------------------------------------------------------------------------
// Main

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
  );
  try {
    return await fn(synapse);
  } finally {
    await synapse.stop();
    if (dbName !== undefined) await adminQuery(o.adminUrl, `drop database ${dbName} with (force)`);
  }
}

async function main(): Promise<void> {
  if (process.argv[2] === 'push-child') {
    await pushChild(process.argv.slice(3));
    return;
  }
  const o = parseOptions();
  const tmp = await mkdtemp(join(os.tmpdir(), 'ferry-scale-bench-'));
  const templateDb = `ferry_bench_scale_tpl_${randomBytes(6).toString('hex')}`;
  try {
    const { generateSlackExport } = await import('./generate-slack-export.js');
    const zip = join(tmp, 'slack-export.zip');
    const generated = await generateSlackExport({
      messages: o.messages,
      out: zip,
      seed: o.seed,
      users: o.users,
      minConversations: 1,
      messagesPerConversation: o.messages,
    });
    await adminQuery(o.adminUrl, `create database ${templateDb}`);
    const { openStore } = await import('../src/store/store.js');
    const { ingest } = await import('../src/ingest/ingest.js');
    const { slackExportItems } = await import('../src/sources/slack/index.js');
    const store = await openStore({ databaseUrl: databaseUrl(o.adminUrl, templateDb) });
    await ingest(slackExportItems(zip), store, { input: zip });
    await store.close();
    const url = databaseUrl(o.adminUrl, templateDb);
    const rooms = await adminQuery<{ key: string; native_id: string }>(
      url,
      `select key, native_id from rooms where kind <> 'space'`,
    );
    if (rooms.length !== 1)
      throw new Error(`expected one conversation in the export, got ${JSON.stringify(rooms)}`);
    const posters = (
      await adminQuery<{ posters: number }>(
        url,
        `select count(distinct sender)::int as posters from events where kind in ('message', 'file')`,
      )
    )[0]!.posters;
    const events = (
      await adminQuery<{ events: number }>(url, `select count(*)::int as events from events`)
    )[0]!.events;
    log(`export: ${o.messages} messages, ${events} events, ${posters} posters`);
    const report = await withSynapse(o, async (synapse) => {
      const ctx: Ctx = {
        o,
        synapse,
        as: new AsClient(synapse, synapse.registration.as_token),
        pid: Number(readFileSync(join(synapse.dir, 'synapse.pid'), 'utf8').trim()),
        templateDb,
        tmp,
        pushes: 0,
        channel: rooms[0]!.native_id,
        channelKey: rooms[0]!.key,
      };
      const version = (await (
        await fetch(`${synapse.baseUrl}/_synapse/admin/v1/server_version`, {
          headers: { Authorization: `Bearer ${synapse.adminToken}` },
        })
      ).json()) as { server_version?: string };
      const members = o.members.length === 0 ? [] : await membersSeries(ctx, posters);
      const history = o.history.length === 0 ? { pushes: [], fills: [] } : await historySeries(ctx);
      return { synapse: version.server_version, members, history };
    });
    const gs = groups([...report.members, ...report.history.pushes]);
    const out = {
      command: `npm run bench:scale -- ${process.argv.slice(2).join(' ')}`.trim(),
      machine: {
        cpus: os.availableParallelism(),
        cpuModel: os.cpus()[0]?.model ?? 'unknown',
        node: process.version,
        synapse: report.synapse,
        synapseDb: o.synapseDb,
        load: os.loadavg(),
      },
      export: { ...generated, events, posters },
      groups: gs,
      pushes: [...report.members, ...report.history.pushes],
      fills: report.history.fills,
    };
    const text = table(gs, report.history.fills, o.window);
    if (o.json) {
      log(text);
      process.stdout.write(`${JSON.stringify(out, null, 2)}\n`);
    } else process.stdout.write(`${text}\n`);
  } finally {
    await adminQuery(o.adminUrl, `drop database if exists ${templateDb} with (force)`).catch(
      (e: unknown) => log(`could not drop ${templateDb}: ${String(e)}`),
    );
    await rm(tmp, { recursive: true, force: true });
  }
}

main().catch((e: unknown) => {
  process.stderr.write(`${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  process.exit(1);
});
