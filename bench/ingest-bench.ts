/**
 * Ingest benchmark: `npm run bench:ingest -- [--messages 100000] [--backends pglite,postgres]
 * [--json] [--cpu-prof] [--seed 1] [--batch-size N] [--workers N] [--repeat N]
 * [--database-url postgres://…/postgres] [--timeout 1800] [--keep] [--export-cache DIR]`
 *
 * 1. Generates a synthetic Slack export once (bench/generate-slack-export.ts) and keeps it in
 *    the export cache (`--export-cache`, default `$TMPDIR/ferry-bench-exports`, '' for none;
 *    the generator is deterministic); its size and generation time are reported but are not
 *    part of any measured figure.
 * 2. Runs the adapter alone once (`dump`), writing the rows of `events` that the ingest will
 *    write to a COPY text file. This gives the adapter-only throughput, and the input of the
 *    COPY baseline, so that the timed COPY measures loading only.
 * 3. For each backend, in a child process each (peak RSS is per run):
 *    - PostgreSQL first gets one untimed COPY (so that no measured run is the server's first big
 *      load of the session);
 *    - `ingest`: the real `openStore` + `ingest(slackExportItems(zip, {workers}), store)` into
 *      a fresh database (PostgreSQL: a throwaway `ferry_bench_<random>` database, dropped
 *      after; PGlite: a temp folder), with `--workers` day-file workers (default: the CLI's);
 *    - the same with `--workers 0` (every day file mapped on the main thread), for comparison;
 *    - PostgreSQL with `--repeat N`: N rounds of ingest, inline ingest and COPY, the median
 *      shown and every run's time listed under the table;
 *    - `store`: the store half alone, the dumped rows written by the ingest's EventCopyWriter;
 *    - `copy`: the baseline, the same rows bulk-loaded into `events` of another fresh database
 *      migrated by the real migrations, with `COPY … FROM STDIN` (PostgreSQL) or
 *      `COPY … FROM '/dev/blob'` in 32 MB chunks (PGlite, which has no STDIN).
 * 4. Prints a table (stderr when `--json`, which prints the figures as JSON on stdout).
 *    Nothing is written anywhere else but the export cache; the temp folder is removed unless
 *    `--keep`.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { defaultDayFileWorkers } from '../src/sources/slack/day-file-pool.js';
import type { ChildResult } from './bench-child.js';
import {
  GENERATOR_VERSION,
  generateSlackExport,
  type GenerateResult,
} from './generate-slack-export.js';

type Backend = 'pglite' | 'postgres';

interface RunReport {
  /** Child process wall time, start-up and store opening included. */
  processMs: number;
  result?: ChildResult;
  error?: string;
  /** CPU profile written by `--cpu-prof`. */
  cpuProfile?: string;
  /** On-disk size after the run (events table for PostgreSQL, data folder for PGlite). */
  storeBytes?: number;
  /** With `--repeat`: the time of every run, in round order (this report is the median one). */
  allMs?: number[];
}

interface BackendReport {
  backend: Backend;
  /** With `--workers` day-file workers (the CLI's default). */
  ingest: RunReport;
  /** The same ingest with every day file mapped on the main thread (`--workers 0`). */
  ingestInline?: RunReport;
  /** PGlite only: ingest into a store created (initdb + migrations) by an earlier process. */
  ingestReopened?: RunReport;
  /** The store half alone: the ingest's EventCopyWriter fed with the dumped rows (no parsing). */
  storeOnly: RunReport;
  copy: RunReport;
  /** ingest time / COPY time (both without store opening). */
  ratio?: number;
}

interface BenchReport {
  machine: { cpus: number; cpuModel: string; memoryBytes: number; node: string };
  messages: number;
  workers: number;
  export: GenerateResult & { dir?: string };
  adapter: RunReport;
  backends: BackendReport[];
}

const repoRoot = fileURLToPath(new URL('..', import.meta.url));
const childScript = fileURLToPath(new URL('./bench-child.ts', import.meta.url));

interface Options {
  messages: number;
  /** Folder keeping generated exports between runs (they are deterministic); '' = none. */
  cacheDir: string;
  backends: Backend[];
  json: boolean;
  cpuProf: boolean;
  seed: number;
  batchSize?: number;
  /** Day-file worker threads of the measured ingests. */
  workers: number;
  /** PostgreSQL: rounds of ingest / inline ingest / COPY (the median is reported). */
  repeat: number;
  adminUrl: string;
  timeoutMs: number;
  keep: boolean;
}

function parseOptions(): Options {
  const { values } = parseArgs({
    options: {
      messages: { type: 'string', default: '100000' },
      'export-cache': {
        type: 'string',
        default: process.env.FERRY_BENCH_EXPORT_CACHE ?? join(tmpdir(), 'ferry-bench-exports'),
      },
      backends: { type: 'string', default: 'pglite,postgres' },
      json: { type: 'boolean', default: false },
      'cpu-prof': { type: 'boolean', default: false },
      seed: { type: 'string', default: '1' },
      'batch-size': { type: 'string' },
      workers: { type: 'string', default: String(defaultDayFileWorkers()) },
      repeat: { type: 'string', default: '1' },
      'database-url': {
        type: 'string',
        default:
          process.env.FERRY_BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres',
      },
      timeout: { type: 'string', default: '1800' },
      keep: { type: 'boolean', default: false },
    },
  });
  const backends = values.backends
    .split(',')
    .map((b) => b.trim())
    .filter((b) => b !== '');
  for (const b of backends) {
    if (b !== 'pglite' && b !== 'postgres')
      throw new Error(`unknown backend ${b} (pglite, postgres)`);
  }
  if (!/^\d+$/.test(values.workers)) throw new Error('--workers must be a whole number');
  const messages = Number(values.messages);
  if (!Number.isInteger(messages) || messages < 1)
    throw new Error('--messages must be a positive integer');
  return {
    messages,
    cacheDir: values['export-cache'],
    backends: backends as Backend[],
    json: values.json,
    cpuProf: values['cpu-prof'],
    seed: Number(values.seed),
    batchSize: values['batch-size'] === undefined ? undefined : Number(values['batch-size']),
    workers: Number(values.workers),
    repeat: Math.max(1, Number(values.repeat) || 1),
    adminUrl: values['database-url'],
    timeoutMs: Number(values.timeout) * 1000,
    keep: values.keep,
  };
}

const log = (line: string) => process.stderr.write(`${line}\n`);

/** Runs bench-child.ts with `args` and collects its BENCH_RESULT line. */
async function runChild(
  args: string[],
  options: { timeoutMs: number; cpuProfDir?: string },
): Promise<RunReport> {
  const nodeArgs = ['--import', 'tsx'];
  if (options.cpuProfDir !== undefined) {
    nodeArgs.unshift('--cpu-prof', '--cpu-prof-dir', options.cpuProfDir);
  }
  const started = performance.now();
  const child = spawn(process.execPath, [...nodeArgs, childScript, ...args], {
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
  }, options.timeoutMs);
  const code = await new Promise<number | null>((resolve) => child.on('close', (c) => resolve(c)));
  clearTimeout(timer);
  const processMs = performance.now() - started;
  const line = stdout.split('\n').find((l) => l.startsWith('BENCH_RESULT '));
  let cpuProfile: string | undefined;
  if (options.cpuProfDir !== undefined && existsSync(options.cpuProfDir)) {
    const files = (await readdir(options.cpuProfDir))
      .filter((f) => f.endsWith('.cpuprofile'))
      .sort();
    if (files.length > 0) cpuProfile = join(options.cpuProfDir, files[files.length - 1]!);
  }
  if (line === undefined || code !== 0) {
    const why = timedOut ? `timed out after ${options.timeoutMs / 1000} s` : `exit code ${code}`;
    return {
      processMs,
      error: `${why}: ${stderr.trim().split('\n').slice(-5).join(' | ')}`,
      cpuProfile,
    };
  }
  return {
    processMs,
    result: JSON.parse(line.slice('BENCH_RESULT '.length)) as ChildResult,
    cpuProfile,
  };
}

async function withDatabase<T>(
  adminUrl: string,
  fn: (url: string, admin: pg.Client) => Promise<T>,
): Promise<T> {
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  const name = `ferry_bench_${randomBytes(6).toString('hex')}`;
  await admin.query(`create database ${name}`);
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  try {
    return await fn(url.toString(), admin);
  } finally {
    await admin
      .query(`drop database if exists ${name} with (force)`)
      .catch((e: unknown) => log(`could not drop ${name}: ${String(e)}`));
    await admin.end();
  }
}

async function relationBytes(url: string, table: string): Promise<number | undefined> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const r = await client.query<{ size: string }>(
      `select pg_total_relation_size('${table}') as size`,
    );
    return Number(r.rows[0]?.size);
  } catch {
    return undefined;
  } finally {
    await client.end();
  }
}

async function folderBytes(dir: string): Promise<number> {
  let total = 0;
  for (const entry of await readdir(dir, { withFileTypes: true, recursive: true })) {
    if (entry.isFile()) total += (await stat(join(entry.parentPath, entry.name))).size;
  }
  return total;
}

/** The run of median time, with every run's time attached (`allMs`). */
function median(runs: RunReport[]): RunReport {
  const ms = (r: RunReport) => r.result?.ms ?? Number.POSITIVE_INFINITY;
  const sorted = [...runs].sort((a, b) => ms(a) - ms(b));
  const mid = sorted[Math.floor((sorted.length - 1) / 2)] as RunReport;
  return runs.length > 1 ? { ...mid, allMs: runs.map(ms) } : mid;
}

async function benchBackend(
  backend: Backend,
  o: Options,
  zip: string,
  tsv: string,
  tmp: string,
): Promise<BackendReport> {
  const batch = [
    ...(o.batchSize === undefined ? [] : ['--batch-size', String(o.batchSize)]),
    '--workers',
    String(o.workers),
  ];
  const inline = [...batch.slice(0, -1), '0'];
  const prof = (name: string) => (o.cpuProf ? { cpuProfDir: join(tmp, `cpuprof-${name}`) } : {});
  let ingest: RunReport;
  let ingestInline: RunReport | undefined;
  let ingestReopened: RunReport | undefined;
  let copy: RunReport;
  let storeOnly: RunReport;
  if (backend === 'postgres') {
    // The server's first big load of a session ran ~15 % slower than later ones (probably
    // because it creates its WAL segment files, which later loads recycle; not verified). One untimed COPY first puts every measured run on the same
    // footing (without it, whichever run came first paid about 15 % more).
    log(`postgres: warm-up COPY (not measured) …`);
    await withDatabase(o.adminUrl, (url) =>
      runChild(['copy', '--tsv', tsv, '--database-url', url], { timeoutMs: o.timeoutMs }),
    );
    // Each round runs the ingest, the inline ingest and the COPY one after another, so that
    // drift (page cache, the other core's load) touches all three alike; the median is shown.
    const ingests: RunReport[] = [];
    const inlines: RunReport[] = [];
    const copies: RunReport[] = [];
    for (let round = 1; round <= o.repeat; round++) {
      const of = o.repeat > 1 ? ` (round ${round} of ${o.repeat})` : '';
      log(`postgres: ingest${of} …`);
      ingests.push(
        await withDatabase(o.adminUrl, async (url) => {
          const r = await runChild(['ingest', '--zip', zip, '--database-url', url, ...batch], {
            timeoutMs: o.timeoutMs,
            ...(round === 1 ? prof('postgres') : {}),
          });
          r.storeBytes = await relationBytes(url, 'events');
          return r;
        }),
      );
      if (o.workers > 0) {
        log(`postgres: ingest, main thread only${of} …`);
        inlines.push(
          await withDatabase(o.adminUrl, (url) =>
            runChild(['ingest', '--zip', zip, '--database-url', url, ...inline], {
              timeoutMs: o.timeoutMs,
            }),
          ),
        );
      }
      log(`postgres: COPY baseline${of} …`);
      copies.push(
        await withDatabase(o.adminUrl, async (url) => {
          const r = await runChild(['copy', '--tsv', tsv, '--database-url', url], {
            timeoutMs: o.timeoutMs,
          });
          r.storeBytes = await relationBytes(url, 'events');
          return r;
        }),
      );
    }
    ingest = median(ingests);
    ingestInline = inlines.length > 0 ? median(inlines) : undefined;
    copy = median(copies);
    log(`postgres: store half alone …`);
    storeOnly = await withDatabase(o.adminUrl, (url) =>
      runChild(['store', '--tsv', tsv, '--database-url', url, ...batch], {
        timeoutMs: o.timeoutMs,
      }),
    );
  } else {
    const ingestDir = join(tmp, 'pglite-ingest');
    log(`pglite: ingest …`);
    ingest = await runChild(['ingest', '--zip', zip, '--data-dir', ingestDir, ...batch], {
      timeoutMs: o.timeoutMs,
      ...prof('pglite'),
    });
    if (existsSync(ingestDir)) {
      ingest.storeBytes = await folderBytes(ingestDir);
      await rm(ingestDir, { recursive: true, force: true });
    }
    if (o.workers > 0) {
      log(`pglite: ingest, main thread only …`);
      ingestInline = await runChild(['ingest', '--zip', zip, '--data-dir', ingestDir, ...inline], {
        timeoutMs: o.timeoutMs,
      });
      await rm(ingestDir, { recursive: true, force: true });
    }
    // PGlite's initdb dominates the RSS of a first run; a store that already exists is the
    // other common case (every later ingest), so measure it too.
    log(`pglite: ingest into a pre-created store …`);
    const created = await runChild(['open', '--data-dir', ingestDir], { timeoutMs: o.timeoutMs });
    if (created.result === undefined) {
      ingestReopened = created;
    } else {
      ingestReopened = await runChild(['ingest', '--zip', zip, '--data-dir', ingestDir, ...batch], {
        timeoutMs: o.timeoutMs,
      });
    }
    await rm(ingestDir, { recursive: true, force: true });
    const storeDir = join(tmp, 'pglite-store');
    log(`pglite: store half alone …`);
    storeOnly = await runChild(['store', '--tsv', tsv, '--data-dir', storeDir, ...batch], {
      timeoutMs: o.timeoutMs,
    });
    await rm(storeDir, { recursive: true, force: true });
    const copyDir = join(tmp, 'pglite-copy');
    log(`pglite: COPY baseline …`);
    copy = await runChild(['copy', '--tsv', tsv, '--data-dir', copyDir], {
      timeoutMs: o.timeoutMs,
    });
    if (existsSync(copyDir)) {
      copy.storeBytes = await folderBytes(copyDir);
      await rm(copyDir, { recursive: true, force: true });
    }
  }
  const ratio =
    ingest.result !== undefined && copy.result !== undefined
      ? ingest.result.ms / copy.result.ms
      : undefined;
  return { backend, ingest, ingestInline, ingestReopened, storeOnly, copy, ratio };
}

// ---------------------------------------------------------------------------------------------
// Output

const mb = (bytes: number | undefined) =>
  bytes === undefined ? '–' : `${(bytes / 1e6).toFixed(0)} MB`;
const sec = (ms: number | undefined) => (ms === undefined ? '–' : `${(ms / 1000).toFixed(2)} s`);
const rate = (n: number | undefined, ms: number | undefined) =>
  n === undefined || ms === undefined
    ? '–'
    : `${Math.round(n / (ms / 1000)).toLocaleString('en-US')}`;

function table(report: BenchReport): string {
  const msgs = report.messages;
  const rows: string[][] = [
    [
      'run',
      'rows',
      'time',
      'rows/s',
      'msgs/s',
      'CPU',
      'peak RSS',
      'RSS after open',
      'process wall',
      'on disk',
      'vs COPY',
    ],
  ];
  const add = (name: string, r: RunReport, ratio?: number) => {
    const res = r.result;
    const n = res?.events ?? res?.rows;
    rows.push([
      name,
      r.error !== undefined ? `FAILED: ${r.error.slice(0, 60)}` : String(n ?? '–'),
      sec(res?.ms),
      rate(n, res?.ms),
      res?.mode === 'copy' ? '–' : rate(msgs, res?.ms),
      sec(res?.cpuMs),
      mb(res?.maxRssBytes),
      mb(res?.maxRssAfterOpenBytes),
      sec(r.processMs),
      mb(r.storeBytes),
      ratio === undefined ? '' : `${ratio.toFixed(2)}×`,
    ]);
  };
  add('adapter only (parse + keys, no store)', report.adapter);
  for (const b of report.backends) {
    const c = b.copy.result;
    add(`${b.backend}: ingest, ${report.workers} workers`, b.ingest, b.ratio);
    if (b.ingestInline !== undefined) {
      const r = b.ingestInline.result;
      add(
        `${b.backend}: ingest, main thread only`,
        b.ingestInline,
        r && c ? r.ms / c.ms : undefined,
      );
    }
    if (b.ingestReopened !== undefined) {
      const r = b.ingestReopened.result;
      add(
        `${b.backend}: ingest, store pre-created`,
        b.ingestReopened,
        r && c ? r.ms / c.ms : undefined,
      );
    }
    const u = b.storeOnly.result;
    add(
      `${b.backend}: store half alone`,
      b.storeOnly,
      u && b.copy.result ? u.ms / b.copy.result.ms : undefined,
    );
    add(`${b.backend}: COPY baseline`, b.copy, b.copy.result === undefined ? undefined : 1);
  }
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  const fmt = (r: string[]) => `| ${r.map((c, i) => c.padEnd(widths[i]!)).join(' | ')} |`;
  const e = report.export;
  return [
    `export: ${e.messages.toLocaleString('en-US')} messages, ${e.conversations} conversations, ${e.dayFiles} day files, ` +
      `${e.users} users, ${mb(e.bytes)} zip, generated in ${sec(e.ms)} (not measured below)`,
    '',
    fmt(rows[0]!),
    `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`,
    ...rows.slice(1).map(fmt),
    '',
    'time = ingest() call / adapter pass / COPY statement, store opening excluded; rows = events written;',
    'msgs/s = raw Slack messages / time; vs COPY = time / COPY time on the same backend.',
    "store half alone = the same rows written by the ingest's EventCopyWriter without parsing the",
    'export (time counts only the writer calls). CPU = user + system time of the Node process',
    "(all its threads, start-up included; the PostgreSQL server's CPU is not in it).",
    ...repeats(report),
  ].join('\n');
}

/** With `--repeat`: every run's time and each round's ingest / COPY ratio. */
function repeats(report: BenchReport): string[] {
  const lines: string[] = [];
  for (const b of report.backends) {
    const copies = b.copy.allMs;
    if (copies === undefined) continue;
    const list = (ms: number[] | undefined) => (ms ?? []).map((m) => sec(m)).join(', ');
    const ratios = (ms: number[] | undefined) =>
      (ms ?? []).map((m, i) => `${(m / (copies[i] ?? NaN)).toFixed(2)}×`).join(', ');
    lines.push(
      '',
      `${b.backend}, ${copies.length} rounds (median shown above):`,
      `  ingest, ${report.workers} workers: ${list(b.ingest.allMs)} → ${ratios(b.ingest.allMs)}`,
    );
    if (b.ingestInline !== undefined) {
      lines.push(
        `  ingest, main thread only: ${list(b.ingestInline.allMs)} → ${ratios(b.ingestInline.allMs)}`,
      );
    }
    lines.push(`  COPY baseline: ${list(copies)}`);
  }
  return lines;
}

async function machine(): Promise<BenchReport['machine']> {
  const os = await import('node:os');
  return {
    cpus: os.availableParallelism(),
    cpuModel: os.cpus()[0]?.model ?? 'unknown',
    memoryBytes: os.totalmem(),
    node: process.version,
  };
}

/**
 * The synthetic export for these options: generated once and kept in the cache folder (the
 * generator is deterministic: same options, byte-identical zip), or into `tmp` without a cache.
 */
async function cachedExport(o: Options, tmp: string): Promise<GenerateResult> {
  const name = `slack-${o.messages}-seed${o.seed}-v${GENERATOR_VERSION}`;
  const dir = o.cacheDir === '' ? tmp : o.cacheDir;
  const zip = join(dir, `${name}.zip`);
  const meta = join(dir, `${name}.json`);
  if (o.cacheDir !== '' && existsSync(zip) && existsSync(meta)) {
    const cached = JSON.parse(await readFile(meta, 'utf8')) as GenerateResult;
    log(`using the cached export ${zip}`);
    return { ...cached, path: zip };
  }
  await mkdir(dir, { recursive: true });
  log(`generating ${o.messages} messages into ${zip} …`);
  const generated = await generateSlackExport({ messages: o.messages, out: zip, seed: o.seed });
  log(`  ${mb(generated.bytes)} in ${sec(generated.ms)}`);
  if (o.cacheDir !== '') await writeFile(meta, JSON.stringify(generated));
  return generated;
}

async function main(): Promise<void> {
  const o = parseOptions();
  const tmp = await mkdtemp(join(tmpdir(), 'ferry-bench-'));
  try {
    const tsv = join(tmp, 'events.tsv');
    const generated = await cachedExport(o, tmp);
    const zip = generated.path;
    log('adapter only (writes the COPY input) …');
    const adapter = await runChild(['dump', '--zip', zip, '--out', tsv], {
      timeoutMs: o.timeoutMs,
    });
    if (adapter.result === undefined) throw new Error(`adapter run failed: ${adapter.error}`);
    const backends: BackendReport[] = [];
    for (const backend of o.backends) {
      const b = await benchBackend(backend, o, zip, tsv, tmp);
      const expected = adapter.result.rows;
      if (b.ingest.result?.events !== undefined && b.ingest.result.events !== expected) {
        log(
          `warning: ${backend} ingest wrote ${b.ingest.result.events} events, the adapter yielded ${expected}`,
        );
      }
      backends.push(b);
    }
    const report: BenchReport = {
      machine: await machine(),
      messages: o.messages,
      workers: o.workers,
      export: { ...generated, dir: o.keep ? tmp : undefined },
      adapter,
      backends,
    };
    const text = table(report);
    if (o.json) {
      log(text);
      process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
    } else {
      process.stdout.write(`${text}\n`);
    }
    if (o.cpuProf) {
      for (const b of backends) {
        if (b.ingest.cpuProfile !== undefined) {
          log(
            `${b.backend} CPU profile: ${b.ingest.cpuProfile} (npx tsx bench/cpu-profile-summary.ts <file>)`,
          );
        }
      }
    }
  } finally {
    if (!o.keep && !o.cpuProf) await rm(tmp, { recursive: true, force: true });
    else log(`kept ${tmp}`);
  }
}

main().catch((e: unknown) => {
  process.stderr.write(`${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  process.exit(1);
});
