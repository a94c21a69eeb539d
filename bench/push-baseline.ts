/**
 * The baseline of the push benchmark (bench/push-bench.ts): the same number of Matrix events,
 * sent by the simplest loop that can write history as an application service. Run as a child
 * process (so peak RSS is its own); prints one `BENCH_RESULT {json}` line on stdout.
 *
 *   npx tsx bench/push-baseline.ts --plan PLAN.json --homeserver URL --registration FILE
 *       --concurrency N
 *
 * PLAN.json: `{rooms: [{key, events: [[senderMxid, ts], …]}, …]}` in the order the rooms are
 * written (push-bench.ts takes it from ferry's ledger after the ferry run: per room, the sender
 * and `ts` of every Matrix event ferry sent, in order).
 *
 * Setup (timed separately, not part of the baseline time): register every sender through the
 * AS (`m.login.application_service`), create one public room per plan room as the AS bot, join
 * every sender of a room to it.
 *
 * Timed: `concurrency` workers take rooms from the plan in order; each room is written by one
 * worker with one request in flight: `PUT /rooms/{room}/send/m.room.message/{txn}?user_id=…&ts=…`
 * with a plain-text body, raw `fetch`, no retries, no ledger, no store, no content conversion.
 */
import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { readRegistrationFile } from '../src/matrix/registration.js';
import { processCpuMs } from './bench-support.js';

export interface BaselinePlan {
  rooms: { key: string; events: [sender: string, ts: number][] }[];
}

export interface BaselineResult {
  mode: 'baseline';
  /** Register + create rooms + joins (not part of `ms`). */
  setupMs: number;
  /** The timed send loop. */
  ms: number;
  events: number;
  rooms: number;
  users: number;
  /** Per room: events and the time from its first send to its last response. */
  perRoom: { key: string; events: number; ms: number }[];
  maxRssBytes: number;
  cpuUserMs: number;
  cpuSystemMs: number;
  /** CPU time of the Synapse process during the timed loop (with `--synapse-pid`). */
  synapseCpuMs?: number;
}

const maxRss = () => process.resourceUsage().maxRSS * 1024;

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      plan: { type: 'string' },
      homeserver: { type: 'string' },
      registration: { type: 'string' },
      concurrency: { type: 'string', default: '4' },
      'synapse-pid': { type: 'string' },
    },
  });
  if (values.plan === undefined || values.homeserver === undefined || !values.registration)
    throw new Error('usage: push-baseline.ts --plan P --homeserver URL --registration F');
  const plan = JSON.parse(await readFile(values.plan, 'utf8')) as BaselinePlan;
  const reg = await readRegistrationFile(values.registration);
  const base = `${values.homeserver}/_matrix/client/v3`;
  const concurrency = Number(values.concurrency);
  const headers = { Authorization: `Bearer ${reg.as_token}`, 'Content-Type': 'application/json' };

  const call = async (method: string, path: string, body: unknown): Promise<unknown> => {
    const res = await fetch(`${base}${path}`, { method, headers, body: JSON.stringify(body) });
    const text = await res.text();
    if (!res.ok) throw new Error(`${method} ${path.split('?')[0]}: ${res.status} ${text}`);
    return JSON.parse(text) as unknown;
  };
  const pool = async <T>(items: T[], n: number, fn: (item: T) => Promise<void>) => {
    let next = 0;
    await Promise.all(
      Array.from({ length: Math.min(n, items.length) }, async () => {
        while (next < items.length) await fn(items[next++]!);
      }),
    );
  };

  // ---- setup (untimed): users, rooms, joins ----
  const t0 = performance.now();
  const users = [...new Set(plan.rooms.flatMap((r) => r.events.map(([s]) => s)))];
  await pool(users, 4, async (mxid) => {
    const localpart = mxid.slice(1, mxid.indexOf(':'));
    const res = await fetch(`${base}/register`, {
      method: 'POST',
      headers,
      body: JSON.stringify({
        type: 'm.login.application_service',
        username: localpart,
        inhibit_login: true,
      }),
    });
    const text = await res.text();
    if (!res.ok && !text.includes('M_USER_IN_USE'))
      throw new Error(`register ${localpart}: ${res.status} ${text}`);
  });
  const roomIds = new Map<string, string>();
  for (const room of plan.rooms) {
    const created = (await call('POST', '/createRoom', { preset: 'public_chat' })) as {
      room_id: string;
    };
    roomIds.set(room.key, created.room_id);
  }
  const joins = plan.rooms.flatMap((r) =>
    [...new Set(r.events.map(([s]) => s))].map((s) => [roomIds.get(r.key)!, s] as const),
  );
  await pool(joins, 4, async ([roomId, mxid]) => {
    await call(
      'POST',
      `/rooms/${encodeURIComponent(roomId)}/join?user_id=${encodeURIComponent(mxid)}`,
      {},
    );
  });
  const setupMs = performance.now() - t0;

  // ---- timed: the send loop ----
  const synapsePid =
    values['synapse-pid'] === undefined ? undefined : Number(values['synapse-pid']);
  const synapseCpu0 = processCpuMs(synapsePid);
  const cpu0 = process.cpuUsage();
  const perRoom: BaselineResult['perRoom'] = [];
  let events = 0;
  const t1 = performance.now();
  const indexed = plan.rooms.map((room, index) => ({ room, index }));
  await pool(indexed, concurrency, async ({ room, index }) => {
    const roomPath = `/rooms/${encodeURIComponent(roomIds.get(room.key)!)}/send/m.room.message/`;
    const r0 = performance.now();
    let i = 0;
    for (const [sender, ts] of room.events) {
      const txn = `baseline-${index}-${i}`;
      await call(
        'PUT',
        `${roomPath}${encodeURIComponent(txn)}?user_id=${encodeURIComponent(sender)}&ts=${ts}`,
        { msgtype: 'm.text', body: `baseline message ${i} of ${room.key}` },
      );
      i += 1;
      events += 1;
    }
    perRoom.push({ key: room.key, events: i, ms: performance.now() - r0 });
  });
  const ms = performance.now() - t1;
  const cpu = process.cpuUsage(cpu0);
  const synapseCpu1 = processCpuMs(synapsePid);
  const result: BaselineResult = {
    mode: 'baseline',
    setupMs,
    ms,
    events,
    rooms: plan.rooms.length,
    users: users.length,
    perRoom,
    maxRssBytes: maxRss(),
    cpuUserMs: cpu.user / 1000,
    cpuSystemMs: cpu.system / 1000,
    synapseCpuMs:
      synapseCpu0 === undefined || synapseCpu1 === undefined
        ? undefined
        : synapseCpu1 - synapseCpu0,
  };
  process.stdout.write(`BENCH_RESULT ${JSON.stringify(result)}\n`);
}

main().catch((e: unknown) => {
  process.stderr.write(`${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  process.exit(1);
});
