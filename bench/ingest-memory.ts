/**
 * Where an ingest's memory goes: one ingest of a Slack export into a fresh embedded (PGlite)
 * store, sampling `process.memoryUsage()` and /proc/self/status every `--every` ms, and printing
 * the peak of each part and the phase it was reached in (open, ingest) as one JSON line.
 *
 *   npx tsx --expose-gc bench/ingest-memory.ts --zip Z [--workers 1] [--every 100] [--v8 FLAGS]
 *
 * `--v8` flags are set with v8.setFlagsFromString before PGlite is loaded (so they apply to its
 * WebAssembly compilation). Used to find what to cut in the ingest's peak RSS (BENCHMARKS.md,
 * "Ingest memory on PGlite").
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import v8 from 'node:v8';

const { values } = parseArgs({
  options: {
    zip: { type: 'string' },
    workers: { type: 'string', default: '1' },
    every: { type: 'string', default: '100' },
    v8: { type: 'string', default: '' },
    /** With --expose-gc: a full GC every this many ms (0: never), to tell garbage from live data. */
    gc: { type: 'string', default: '0' },
  },
});
if (values.zip === undefined) throw new Error('--zip is required');
for (const flag of values.v8.split(' ').filter((f) => f !== '')) v8.setFlagsFromString(flag);

const { ingest } = await import('../src/ingest/ingest.js');
const { slackExportItems } = await import('../src/sources/slack/index.js');
const { openStore } = await import('../src/store/store.js');

type Sample = Record<'rss' | 'heapUsed' | 'heapTotal' | 'external' | 'arrayBuffers', number>;
const MB = 1024 * 1024;
let phase = 'start';
const peaks = new Map<string, { mb: number; phase: string }>();

function statusKb(field: string): number {
  const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(
    readFileSync('/proc/self/status', 'utf8'),
  );
  return m === null ? 0 : Number(m[1]);
}

/**
 * Resident memory by mapping (/proc/self/smaps): files, malloc (its heap and 64 MB thread
 * arenas), executable code, and every other anonymous mapping keyed by its size and
 * permissions (V8's heap pages are the 0.25 MB ones; PGlite's WebAssembly memory was the
 * 128 MB one here).
 */
function smapsKinds(): Record<string, number> {
  const kinds: Record<string, number> = {};
  let kind = 'other';
  for (const line of readFileSync('/proc/self/smaps', 'utf8').split('\n')) {
    const head = /^([0-9a-f]+)-([0-9a-f]+) (\S+) \S+ \S+ (\d+)\s*(.*)$/.exec(line);
    if (head !== null) {
      const size = (parseInt(head[2]!, 16) - parseInt(head[1]!, 16)) / 1024 / 1024;
      const [perms, inode, name] = [head[3]!, head[4]!, head[5]!];
      if (inode !== '0' && name !== '') kind = 'file';
      else if (name === '[heap]') kind = 'malloc';
      else if (size >= 1024) kind = 'wasm';
      else if (perms.includes('x')) kind = 'code';
      else if (size >= 63 && size <= 65) kind = 'malloc';
      else kind = `anon ${size >= 1 ? Math.round(size) : size.toFixed(2)} MB ${perms}`;
      continue;
    }
    const rss = /^Rss:\s+(\d+) kB/.exec(line);
    if (rss !== null) kinds[kind] = (kinds[kind] ?? 0) + Number(rss[1]) / 1024;
  }
  return kinds;
}

let peakRss = 0;
let atPeak: Record<string, number> = {};

function sample(): void {
  const rssNow = process.memoryUsage.rss() / MB;
  if (rssNow > peakRss) {
    peakRss = rssNow;
    atPeak = Object.fromEntries(
      Object.entries(smapsKinds())
        .filter(([, v]) => v >= 3)
        .map(([k, v]) => [k, Math.round(v)]),
    );
    atPeak.phase = phase === 'open' ? 0 : 1;
  }
  const u = process.memoryUsage() as unknown as Sample;
  const parts: Record<string, number> = {
    rss: u.rss / MB,
    heapUsed: u.heapUsed / MB,
    heapTotal: u.heapTotal / MB,
    external: u.external / MB,
    arrayBuffers: u.arrayBuffers / MB,
    rssAnon: statusKb('RssAnon') / 1024,
    rssFile: statusKb('RssFile') / 1024,
  };
  for (const [k, mb] of Object.entries(parts)) {
    const seen = peaks.get(k);
    if (seen === undefined || mb > seen.mb) peaks.set(k, { mb: Math.round(mb), phase });
  }
}

const timer = setInterval(sample, Number(values.every));
const collect = (globalThis as { gc?: () => void }).gc;
const gcTimer =
  Number(values.gc) > 0 && collect !== undefined
    ? setInterval(() => collect(), Number(values.gc))
    : undefined;
const dir = mkdtempSync(join(tmpdir(), 'ferry-mem-'));
const t0 = performance.now();
phase = 'open';
const store = await openStore({ dataDir: join(dir, 'store') });
sample();
const afterOpen = Object.fromEntries([...peaks].map(([k, v]) => [k, v.mb]));
phase = 'ingest';
const t1 = performance.now();
const summary = await ingest(
  slackExportItems(values.zip, { workers: Number(values.workers) }),
  store,
  {
    input: values.zip,
  },
);
const ingestMs = performance.now() - t1;
sample();
phase = 'close';
await store.close();
clearInterval(timer);
clearInterval(gcTimer);
rmSync(dir, { recursive: true, force: true });
process.stdout.write(
  `${JSON.stringify({
    v8: values.v8,
    workers: Number(values.workers),
    ingestS: Math.round(ingestMs / 100) / 10,
    totalS: Math.round((performance.now() - t0) / 100) / 10,
    events: summary.added.events,
    maxRssMb: Math.round((process.resourceUsage().maxRSS * 1024) / MB),
    vmHwmMb: Math.round(statusKb('VmHWM') / 1024),
    afterOpen,
    atPeak,
    peaks: Object.fromEntries(peaks),
  })}\n`,
);
