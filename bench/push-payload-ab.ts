/**
 * What a change to ferry's payloads costs or saves Synapse, measured without ferry's client:
 * one capture of ferry's requests (bench/push-capture.ts, kept by `npm run bench:push -- --keep`
 * as `capture-N-R.json`) is replayed (bench/push-replay.ts) as-is and in variants, each on a
 * fresh Synapse, rounds interleaved (A B C A B C …), and Synapse's CPU per run compared.
 *
 *   npx tsx bench/push-payload-ab.ts --capture FILE [--variants as-is,reaction-no-mentions,…]
 *       [--repeat 2] [--concurrency 4] [--messages M] [--json]
 *
 * Variants (each a pure rewrite of the captured requests):
 * - `as-is`: the capture unchanged;
 * - `reaction-no-mentions`: `m.reaction` contents without `"m.mentions": {}` (what ferry sends
 *   since this change; a reaction has no `body`, so no push rule can match it either way);
 * - `no-read-markers`: without the end-of-room `read_markers` requests (a cost figure only);
 * - `no-provenance`: without `ferry.source` in any content (a cost figure only: ferry needs it
 *   to reconcile after a crash).
 * `--messages`: the export's message count, to print Synapse CPU ms per message.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { spawn } from 'node:child_process';
import type { CapturedRequest } from './push-capture.js';
import type { ReplayResult } from './push-replay.js';

const replayScript = fileURLToPath(new URL('./push-replay.ts', import.meta.url));
const repoRoot = fileURLToPath(new URL('..', import.meta.url));
const log = (line: string) => process.stderr.write(`${line}\n`);

const VARIANTS = {
  'as-is': (c: CapturedRequest[]) => c,
  'reaction-no-mentions': (c: CapturedRequest[]) =>
    c.map((r) =>
      r.path.includes('/send/m.reaction/') ? withContent(r, dropKey('m.mentions')) : r,
    ),
  'no-read-markers': (c: CapturedRequest[]) => c.filter((r) => !r.path.includes('/read_markers')),
  'no-provenance': (c: CapturedRequest[]) =>
    c.map((r) => (/\/(send|state)\//.test(r.path) ? withContent(r, dropKey('ferry.source')) : r)),
} as const;
type Variant = keyof typeof VARIANTS;

function dropKey(key: string) {
  return (content: Record<string, unknown>) => {
    const { [key]: _dropped, ...rest } = content;
    return rest;
  };
}

function withContent(
  r: CapturedRequest,
  f: (c: Record<string, unknown>) => Record<string, unknown>,
): CapturedRequest {
  if (r.body === undefined) return r;
  return { ...r, body: JSON.stringify(f(JSON.parse(r.body) as Record<string, unknown>)) };
}

async function replayOnce(
  captureFile: string,
  concurrency: number,
): Promise<ReplayResult & { loadMax: number }> {
  const { startSynapse } = await import('../test/support/synapse.js');
  const synapse = await startSynapse();
  try {
    const pid = Number(readFileSync(join(synapse.dir, 'synapse.pid'), 'utf8').trim());
    let loadMax = os.loadavg()[0]!;
    const sampler = setInterval(() => (loadMax = Math.max(loadMax, os.loadavg()[0]!)), 1000);
    const args = [
      '--import',
      'tsx',
      replayScript,
      ...['--capture', captureFile, '--homeserver', synapse.baseUrl],
      ...['--registration', synapse.registrationPath, '--concurrency', String(concurrency)],
      ...['--synapse-pid', String(pid)],
    ];
    const child = spawn(process.execPath, args, {
      cwd: repoRoot,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (err += d));
    const code = await new Promise<number | null>((r) => child.on('close', r));
    clearInterval(sampler);
    const line = out.split('\n').find((l) => l.startsWith('BENCH_RESULT '));
    if (code !== 0 || line === undefined) throw new Error(`replay failed: ${err.slice(-500)}`);
    return { ...(JSON.parse(line.slice(13)) as ReplayResult), loadMax };
  } finally {
    await synapse.stop();
  }
}

const median = (v: number[]) => {
  const s = [...v].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      capture: { type: 'string' },
      variants: { type: 'string', default: 'as-is,reaction-no-mentions' },
      repeat: { type: 'string', default: '2' },
      concurrency: { type: 'string', default: '4' },
      messages: { type: 'string' },
      json: { type: 'boolean', default: false },
    },
  });
  if (values.capture === undefined) throw new Error('--capture FILE is required');
  const variants = values.variants.split(',').map((v) => v.trim()) as Variant[];
  for (const v of variants)
    if (!(v in VARIANTS))
      throw new Error(`unknown variant ${v} (${Object.keys(VARIANTS).join(', ')})`);
  const captured = JSON.parse(readFileSync(values.capture, 'utf8')) as CapturedRequest[];
  const tmp = await mkdtemp(
    join(os.tmpdir(), `ferry-payload-ab-${randomBytes(3).toString('hex')}-`),
  );
  const repeat = Number(values.repeat);
  const concurrency = Number(values.concurrency);
  const messages = values.messages === undefined ? undefined : Number(values.messages);
  const runs: {
    variant: Variant;
    round: number;
    ms: number;
    synapseCpuMs: number;
    requests: number;
    loadMax: number;
  }[] = [];
  try {
    const files = new Map<Variant, string>();
    for (const v of variants) {
      const f = join(tmp, `${v}.json`);
      await writeFile(f, JSON.stringify(VARIANTS[v](captured)));
      files.set(v, f);
    }
    for (let round = 1; round <= repeat; round++) {
      // Alternate the order between rounds so that drifting load touches every variant alike.
      const order = round % 2 === 1 ? variants : [...variants].reverse();
      for (const v of order) {
        log(`round ${round}/${repeat}: ${v} …`);
        const r = await replayOnce(files.get(v)!, concurrency);
        runs.push({
          variant: v,
          round,
          ms: r.ms,
          synapseCpuMs: r.synapseCpuMs ?? NaN,
          requests: r.requests,
          loadMax: r.loadMax,
        });
        log(
          `  ${r.requests} requests in ${(r.ms / 1000).toFixed(1)} s, Synapse CPU ${((r.synapseCpuMs ?? NaN) / 1000).toFixed(1)} s, load max ${r.loadMax.toFixed(1)}`,
        );
      }
    }
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
  const base = variants[0]!;
  const perRound = (v: Variant) => runs.filter((r) => r.variant === v);
  const summary = variants.map((v) => {
    const ratios = perRound(v).map((r) => {
      const b = runs.find((x) => x.variant === base && x.round === r.round)!;
      return r.synapseCpuMs / b.synapseCpuMs;
    });
    const cpu = perRound(v).map((r) => r.synapseCpuMs);
    return {
      variant: v,
      requests: perRound(v)[0]?.requests,
      synapseCpuMs: cpu,
      medianSynapseCpuMs: median(cpu),
      synapseCpuMsPerMessage: messages === undefined ? undefined : median(cpu) / messages,
      ratioToFirst: ratios,
      medianRatioToFirst: median(ratios),
      ms: perRound(v).map((r) => r.ms),
    };
  });
  const lines = summary.map(
    (s) =>
      `| ${s.variant} | ${s.requests} | ${s.synapseCpuMs.map((c) => (c / 1000).toFixed(1)).join(', ')} s | ` +
      `${s.synapseCpuMsPerMessage === undefined ? '–' : s.synapseCpuMsPerMessage.toFixed(1)} | ` +
      `${s.medianRatioToFirst.toFixed(3)}× (${s.ratioToFirst.map((x) => x.toFixed(3)).join(', ')}) | ${s.ms.map((m) => (m / 1000).toFixed(1)).join(', ')} s |`,
  );
  const table = [
    `| variant | requests | Synapse CPU per round | ms/msg (median) | Synapse CPU vs ${base}, same round: median (rounds) | time per round |`,
    '|---|---|---|---|---|---|',
    ...lines,
  ].join('\n');
  if (values.json) {
    log(table);
    process.stdout.write(
      `${JSON.stringify({ capture: values.capture, concurrency, repeat, runs, summary }, null, 2)}\n`,
    );
  } else process.stdout.write(`${table}\n`);
}

main().catch((e: unknown) => {
  process.stderr.write(`${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  process.exit(1);
});
