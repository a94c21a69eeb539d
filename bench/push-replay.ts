/**
 * The replay baseline of the push benchmark (bench/push-bench.ts): ferry's exact writes, sent
 * again by a bare `fetch` loop to a fresh Synapse. Run as a child process; prints one
 * `BENCH_RESULT {json}` line on stdout.
 *
 *   npx tsx bench/push-replay.ts --capture CAPTURE.json --homeserver URL --registration FILE
 *       --concurrency N [--synapse-pid PID]
 *
 * CAPTURE.json: every request ferry's push made (bench/push-capture.ts), in the order sent.
 *
 * Prepared before timing (not measured):
 * - every write (POST/PUT) is kept with its exact path, query (`user_id`, `ts`), body and
 *   content type: registrations, profiles, createRoom, state, memberships, messages, reactions,
 *   relations, uploads (same bytes), read markers, account data. ferry's reads (GET: alias
 *   look-ups, whoami, state checks) are not replayed: they are ferry's own overhead;
 * - the IDs the old homeserver minted (room IDs, event IDs, mxc URIs) that a request refers to
 *   are listed per request; at replay each is swapped for the ID the new homeserver answered
 *   (one string replacement per reference);
 * - requests are put in lanes: one per room (its createRoom, everything under /rooms/{id},
 *   m.space.child of the space pointing at it, the uploads its events use), and users' own
 *   requests (register, profile, account data) in order before or after the room phase.
 *
 * Timed, with ferry's concurrency: the users' requests before the room phase (4 or N users at
 * once, each user's requests in order), spaces (alone, as ferry writes them first), then the
 * room lanes N at a time in ferry's order, one request in flight per room, then the remaining
 * user requests (m.direct). No store, no ledger, no retries, no content conversion.
 */
import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import type { CapturedRequest } from './push-capture.js';
import { readRegistrationFile } from '../src/matrix/registration.js';
import { processCpuMs } from './bench-support.js';

export interface ReplayResult {
  mode: 'replay';
  /** Capture → lanes, not part of `ms`. */
  prepareMs: number;
  /** The whole timed replay. */
  ms: number;
  /** Without the users' requests before the room phase. */
  roomsPhaseMs: number;
  requests: number;
  /** Writes that created a timeline event (answered with an event_id). */
  events: number;
  uploads: number;
  /** ferry's GETs, not replayed. */
  skippedReads: number;
  rooms: number;
  perRoom: { lane: string; requests: number; ms: number }[];
  maxRssBytes: number;
  cpuUserMs: number;
  cpuSystemMs: number;
  synapseCpuMs?: number;
}

interface Step {
  method: string;
  path: string;
  contentType?: string;
  body?: string | Uint8Array;
  /** Old IDs this request names (path or body). */
  refs: string[];
  /** Fields of the old response whose value the new response replaces (room_id, …). */
  learns: { field: 'room_id' | 'event_id' | 'content_uri'; old: string }[];
  /** The old answer was not 2xx (e.g. M_USER_IN_USE): any non-2xx is expected again. */
  failed: boolean;
}

interface Lanes {
  pre: Map<string, Step[]>;
  spaces: Step[][];
  rooms: { lane: string; steps: Step[] }[];
  post: Map<string, Step[]>;
  skippedReads: number;
}

/** Event IDs and room v12 room IDs ($ or ! + 43 base64url), older room IDs, mxc URIs. */
const ID_PATTERN =
  /(?:\$|%24|!|%21)[A-Za-z0-9_-]{43}|(?:!|%21)[A-Za-z]{18}(?::|%3A)[A-Za-z0-9.-]+|mxc:\/\/[A-Za-z0-9.:-]+\/[A-Za-z0-9_-]+/g;
const MINTED = ['room_id', 'event_id', 'content_uri'] as const;

/** The raw form of an ID found percent-encoded in a path. */
const normal = (id: string) => (id.includes('%') ? decodeURIComponent(id) : id);

/** Lanes of steps from the capture (see the file comment). */
export function prepare(captured: CapturedRequest[]): Lanes {
  const known = new Set<string>();
  const created = new Map<string, number>(); // old room ID → creation index
  const spaceRooms = new Set<string>();
  const steps: { step: Step; lane?: string; user: string; index: number }[] = [];
  let skippedReads = 0;
  for (const c of captured) {
    if (c.method === 'GET' || c.method === 'HEAD') {
      skippedReads += 1;
      continue;
    }
    const text = c.path + (c.body ?? '');
    const refs = [...new Set((text.match(ID_PATTERN) ?? []).map(normal))].filter((r) =>
      known.has(r),
    );
    const failed = c.status < 200 || c.status >= 300;
    const learns: Step['learns'] = [];
    if (!failed && c.response !== undefined && c.response.startsWith('{')) {
      const res = JSON.parse(c.response) as Record<string, unknown>;
      for (const field of MINTED) {
        const v = res[field];
        if (typeof v === 'string' && !known.has(v)) {
          learns.push({ field, old: v });
          known.add(v);
        }
      }
    }
    const step: Step = {
      method: c.method,
      path: c.path,
      contentType: c.contentType,
      body: c.bodyBase64 !== undefined ? Buffer.from(c.bodyBase64, 'base64') : c.body,
      refs,
      learns,
      failed,
    };
    const roomRefs = refs.filter((r) => created.has(r));
    let lane: string | undefined;
    if (c.path.includes('/createRoom')) {
      lane = learns.find((l) => l.field === 'room_id')?.old;
      if (lane !== undefined) {
        created.set(lane, created.size);
        if (c.body?.includes('"m.space"')) spaceRooms.add(lane);
      }
    } else if (c.path.includes('/rooms/') && roomRefs.length > 0) {
      lane = roomRefs.reduce((a, b) => (created.get(b)! > created.get(a)! ? b : a));
    }
    // The localpart, from a path (/profile/@u:hs/…) or a registration body.
    const user =
      /(?:%40|@)([^/?&"%:]+)/.exec(c.path.split('?')[0]!)?.[1] ??
      /"username":"([^"]+)"/.exec(c.body ?? '')?.[1];
    steps.push({ step, lane, user: user ?? '-', index: steps.length });
  }
  return assignLanes(steps, spaceRooms, skippedReads);
}

function assignLanes(
  steps: { step: Step; lane?: string; user: string; index: number }[],
  spaceRooms: Set<string>,
  skippedReads: number,
): Lanes {
  // An upload goes with the room whose event first names its mxc URI.
  for (const s of steps) {
    const mxc = s.step.learns.find((l) => l.field === 'content_uri')?.old;
    if (mxc === undefined) continue;
    const user = steps.find(
      (t) => t.index > s.index && t.lane !== undefined && t.step.refs.includes(mxc),
    );
    if (user !== undefined) s.lane = user.lane;
  }
  const firstRoom = steps.find((s) => s.lane !== undefined)?.index ?? steps.length;
  const roomLanes = new Map<string, Step[]>();
  const pre = new Map<string, Step[]>();
  const post = new Map<string, Step[]>();
  for (const s of steps) {
    if (s.lane !== undefined) {
      const l = roomLanes.get(s.lane) ?? [];
      l.push(s.step);
      roomLanes.set(s.lane, l);
      continue;
    }
    const group = s.index < firstRoom ? pre : post;
    const l = group.get(s.user) ?? [];
    l.push(s.step);
    group.set(s.user, l);
  }
  const all = [...roomLanes];
  return {
    pre,
    spaces: all.filter(([k]) => spaceRooms.has(k)).map(([, v]) => v),
    rooms: all.filter(([k]) => !spaceRooms.has(k)).map(([lane, steps]) => ({ lane, steps })),
    post,
    skippedReads,
  };
}

async function pool<T>(items: T[], n: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(n, items.length) }, async () => {
      while (next < items.length) await fn(items[next++]!);
    }),
  );
}

class Replayer {
  readonly ids = new Map<string, string>();
  requests = 0;
  events = 0;
  uploads = 0;
  constructor(
    private readonly baseUrl: string,
    private readonly token: string,
  ) {}

  async run(steps: Step[]): Promise<void> {
    for (const s of steps) await this.send(s);
  }

  private async send(s: Step): Promise<void> {
    let path = s.path;
    let body = s.body;
    for (const old of s.refs) {
      const now = this.ids.get(old);
      if (now === undefined) throw new Error(`${s.method} ${s.path}: ${old} not replayed yet`);
      path = path.split(encodeURIComponent(old)).join(encodeURIComponent(now));
      path = path.split(old).join(now);
      if (typeof body === 'string') body = body.split(old).join(now);
    }
    const headers: Record<string, string> = { authorization: `Bearer ${this.token}` };
    if (s.contentType !== undefined) headers['content-type'] = s.contentType;
    const res = await fetch(this.baseUrl + path, { method: s.method, headers, body });
    const text = await res.text();
    this.requests += 1;
    if (res.ok === s.failed)
      throw new Error(`${s.method} ${path.split('?')[0]}: ${res.status} ${text.slice(0, 200)}`);
    if (s.learns.length === 0) return;
    const json = JSON.parse(text) as Record<string, string>;
    for (const l of s.learns) {
      this.ids.set(l.old, json[l.field]!);
      if (l.field === 'event_id') this.events += 1;
      if (l.field === 'content_uri') this.uploads += 1;
    }
  }
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      capture: { type: 'string' },
      homeserver: { type: 'string' },
      registration: { type: 'string' },
      concurrency: { type: 'string', default: '4' },
      'synapse-pid': { type: 'string' },
    },
  });
  if (!values.capture || !values.homeserver || !values.registration)
    throw new Error('usage: push-replay.ts --capture C --homeserver URL --registration F');
  const p0 = performance.now();
  const captured = JSON.parse(await readFile(values.capture, 'utf8')) as CapturedRequest[];
  const lanes = prepare(captured);
  const reg = await readRegistrationFile(values.registration);
  const concurrency = Number(values.concurrency);
  const replayer = new Replayer(values.homeserver, reg.as_token);
  const prepareMs = performance.now() - p0;

  const synapsePid =
    values['synapse-pid'] === undefined ? undefined : Number(values['synapse-pid']);
  const synapseCpu0 = processCpuMs(synapsePid);
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  await pool([...lanes.pre.values()], Math.max(4, concurrency), (s) => replayer.run(s));
  const t1 = performance.now();
  for (const s of lanes.spaces) await replayer.run(s);
  const perRoom: ReplayResult['perRoom'] = [];
  await pool(lanes.rooms, concurrency, async ({ lane, steps }) => {
    const r0 = performance.now();
    await replayer.run(steps);
    perRoom.push({ lane, requests: steps.length, ms: performance.now() - r0 });
  });
  await pool([...lanes.post.values()], Math.max(4, concurrency), (s) => replayer.run(s));
  const t2 = performance.now();
  const cpu = process.cpuUsage(cpu0);
  const synapseCpu1 = processCpuMs(synapsePid);
  const result: ReplayResult = {
    mode: 'replay',
    prepareMs,
    ms: t2 - t0,
    roomsPhaseMs: t2 - t1,
    requests: replayer.requests,
    events: replayer.events,
    uploads: replayer.uploads,
    skippedReads: lanes.skippedReads,
    rooms: lanes.rooms.length + lanes.spaces.length,
    perRoom,
    maxRssBytes: process.resourceUsage().maxRSS * 1024,
    cpuUserMs: cpu.user / 1000,
    cpuSystemMs: cpu.system / 1000,
    synapseCpuMs:
      synapseCpu0 === undefined || synapseCpu1 === undefined
        ? undefined
        : synapseCpu1 - synapseCpu0,
  };
  process.stdout.write(`BENCH_RESULT ${JSON.stringify(result)}\n`);
}

if (process.argv[1] !== undefined && import.meta.url.endsWith(process.argv[1].split('/').pop()!))
  main().catch((e: unknown) => {
    process.stderr.write(`${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
    process.exit(1);
  });
