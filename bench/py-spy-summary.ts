/**
 * Summarises a py-spy `--format raw` profile (collapsed stacks: `frame;frame;… count`, root
 * first) of Synapse, recorded by `npm run bench:push -- --py-spy …`: self samples by function,
 * self samples by file (Synapse module, or the library), and inclusive samples of the
 * functions that matter for a send (event creation, auth, state resolution, persistence,
 * notifications, appservice fan-out…).
 *
 *   npx tsx bench/py-spy-summary.ts <profile.txt> [--top 25]
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

export interface PySpySummary {
  samples: number;
  selfByFunction: { name: string; share: number }[];
  selfByFile: { name: string; share: number }[];
  inclusiveByFunction: { name: string; share: number }[];
  /** Inclusive, Synapse's own functions only (the library and reactor frames left out). */
  inclusiveSynapse: { name: string; share: number }[];
  /**
   * Each sample by its entry point: the first `synapse/rest/` frame (the endpoint), else the
   * first Synapse frame (background processes, replication, the database thread pool…).
   */
  byEntry: { name: string; share: number }[];
}

/** `func (path/to/file.py:123)` → `func (synapse/x/y.py)`; site-packages trimmed. */
function frameName(frame: string): { fn: string; file: string } {
  const m = /^(.*?) \((.*?)(?::\d+)?\)$/.exec(frame.trim());
  if (m === null) return { fn: frame.trim(), file: '(unknown)' };
  let file = m[2]!;
  const site = file.lastIndexOf('site-packages/');
  if (site >= 0) file = file.slice(site + 'site-packages/'.length);
  const lib = /python3\.\d+\/(.*)$/.exec(file);
  if (lib !== null && site < 0) file = `stdlib/${lib[1]}`;
  return { fn: `${m[1]} (${file})`, file };
}

/** Module area: `synapse/handlers/message.py` → `synapse/handlers/message.py`; libs by package. */
function areaOf(file: string): string {
  if (file.startsWith('synapse/')) return file;
  if (file.startsWith('stdlib/')) return file.split('/').slice(0, 2).join('/');
  return file.split('/')[0]!;
}

const top = (m: Map<string, number>, total: number, n: number) =>
  [...m]
    .sort((a, b) => b[1] - a[1])
    .slice(0, n)
    .map(([name, v]) => ({ name, share: v / total }));

export function summarisePySpy(text: string, n = 25): PySpySummary {
  const self = new Map<string, number>();
  const selfFile = new Map<string, number>();
  const inclusive = new Map<string, number>();
  const inclusiveSyn = new Map<string, number>();
  const entry = new Map<string, number>();
  let samples = 0;
  for (const line of text.split('\n')) {
    const cut = line.lastIndexOf(' ');
    if (cut <= 0) continue;
    const count = Number(line.slice(cut + 1));
    if (!Number.isFinite(count)) continue;
    const frames = line
      .slice(0, cut)
      .split(';')
      .filter((f) => f.includes('('))
      .map(frameName);
    if (frames.length === 0) continue;
    samples += count;
    const leaf = frames[frames.length - 1]!;
    self.set(leaf.fn, (self.get(leaf.fn) ?? 0) + count);
    const area = areaOf(leaf.file);
    selfFile.set(area, (selfFile.get(area) ?? 0) + count);
    for (const fn of new Set(frames.map((f) => f.fn)))
      inclusive.set(fn, (inclusive.get(fn) ?? 0) + count);
    const own = frames.filter(
      (f) => f.file.startsWith('synapse/') && !f.file.startsWith('synapse/app/'),
    );
    for (const fn of new Set(own.map((f) => f.fn)))
      inclusiveSyn.set(fn, (inclusiveSyn.get(fn) ?? 0) + count);
    const at = own.find((f) => f.file.startsWith('synapse/rest/')) ?? own[0];
    const name = at?.fn ?? '(outside Synapse code: reactor, threads, GC)';
    entry.set(name, (entry.get(name) ?? 0) + count);
  }
  return {
    samples,
    selfByFunction: top(self, samples, n),
    selfByFile: top(selfFile, samples, n),
    inclusiveByFunction: top(inclusive, samples, n * 2),
    inclusiveSynapse: top(inclusiveSyn, samples, n * 3),
    byEntry: top(entry, samples, n),
  };
}

export function formatPySpy(s: PySpySummary): string {
  const pct = (x: number) => `${(x * 100).toFixed(1).padStart(5)} %`;
  return [
    `${s.samples} samples`,
    'self by function:',
    ...s.selfByFunction.map((r) => `  ${pct(r.share)}  ${r.name}`),
    'self by file/package:',
    ...s.selfByFile.map((r) => `  ${pct(r.share)}  ${r.name}`),
    'by entry point (first synapse/rest frame, else first Synapse frame):',
    ...s.byEntry.map((r) => `  ${pct(r.share)}  ${r.name}`),
    'inclusive, Synapse functions:',
    ...s.inclusiveSynapse.map((r) => `  ${pct(r.share)}  ${r.name}`),
    'inclusive by function:',
    ...s.inclusiveByFunction.map((r) => `  ${pct(r.share)}  ${r.name}`),
  ].join('\n');
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: { top: { type: 'string', default: '25' } },
  });
  const file = positionals[0];
  if (file === undefined) throw new Error('usage: py-spy-summary.ts <profile.txt> [--top N]');
  process.stdout.write(
    `${formatPySpy(summarisePySpy(readFileSync(file, 'utf8'), Number(values.top)))}\n`,
  );
}
