/**
 * Summarises a V8 `.cpuprofile` (from `npm run bench:ingest -- --cpu-prof`): self time by
 * function, self time by file/package, and inclusive time of the functions that matter for
 * ingest (JSON parsing, adapter, upsert, query round trips).
 *
 *   npx tsx bench/cpu-profile-summary.ts <file.cpuprofile> [--top 25]
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
}
interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  children?: number[];
}
interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

export interface ProfileSummary {
  totalMs: number;
  selfByFunction: { name: string; ms: number }[];
  selfByFile: { name: string; ms: number }[];
  inclusiveByFunction: { name: string; ms: number }[];
}

/** `node_modules/<pkg>` or the repo-relative path; V8 pseudo-frames by name. */
function fileOf(frame: CallFrame): string {
  const url = frame.url;
  if (url === '') return `(${frame.functionName || 'native'})`;
  const nm = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (nm?.[1] !== undefined) return nm[1];
  if (url.startsWith('node:')) return url;
  const repo = /\/(src|bench|migrations)\/(.*)$/.exec(url);
  if (repo !== null) return `${repo[1]}/${repo[2]}`;
  return url.replace(/^file:\/\//, '');
}

function functionKey(frame: CallFrame): string {
  return `${frame.functionName || '(anonymous)'} ${fileOf(frame)}:${frame.lineNumber + 1}`;
}

export function summarize(profile: CpuProfile, top = 25): ProfileSummary {
  const byId = new Map<number, ProfileNode>();
  const parent = new Map<number, number>();
  for (const n of profile.nodes) {
    byId.set(n.id, n);
    for (const c of n.children ?? []) parent.set(c, n.id);
  }
  const selfFn = new Map<string, number>();
  const selfFile = new Map<string, number>();
  const incl = new Map<string, number>();
  const add = (m: Map<string, number>, k: string, v: number) => m.set(k, (m.get(k) ?? 0) + v);
  let total = 0;
  profile.samples.forEach((id, i) => {
    const dt = (profile.timeDeltas[i] ?? 0) / 1000;
    const node = byId.get(id);
    if (node === undefined) return;
    total += dt;
    add(selfFn, functionKey(node.callFrame), dt);
    add(selfFile, fileOf(node.callFrame), dt);
    const seen = new Set<string>();
    for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
      const frame = byId.get(cur)?.callFrame;
      if (frame === undefined) break;
      const key = functionKey(frame);
      if (seen.has(key)) continue;
      seen.add(key);
      add(incl, key, dt);
    }
  });
  const sorted = (m: Map<string, number>) =>
    [...m.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([name, ms]) => ({ name, ms }));
  return {
    totalMs: total,
    selfByFunction: sorted(selfFn),
    selfByFile: sorted(selfFile),
    inclusiveByFunction: sorted(incl),
  };
}

function print(s: ProfileSummary): string {
  const pct = (ms: number) => `${((100 * ms) / s.totalMs).toFixed(1).padStart(5)} %`;
  const section = (title: string, rows: { name: string; ms: number }[]) =>
    [
      `${title}`,
      ...rows.map((r) => `  ${(r.ms / 1000).toFixed(2).padStart(7)} s ${pct(r.ms)}  ${r.name}`),
    ].join('\n');
  return [
    `sampled: ${(s.totalMs / 1000).toFixed(2)} s`,
    section('self time by file/package', s.selfByFile),
    section('self time by function', s.selfByFunction),
    section('inclusive time by function', s.inclusiveByFunction),
  ].join('\n\n');
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  const { positionals, values } = parseArgs({
    allowPositionals: true,
    options: { top: { type: 'string', default: '25' } },
  });
  const file = positionals[0];
  if (file === undefined) {
    process.stderr.write('usage: cpu-profile-summary.ts <file.cpuprofile> [--top N]\n');
    process.exit(2);
  }
  const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  process.stdout.write(`${print(summarize(profile, Number(values.top)))}\n`);
}
