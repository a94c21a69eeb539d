/**
 * `npm run bench:matrix-source`: how fast `ferry ingest matrix` reads a room of a local Synapse,
 * in events/s, next to a baseline measured in the same run on the same server: a bare loop
 * paging `/messages?dir=b&limit=1000` to the start of the room, keeping nothing.
 *
 * Setup (not timed): a private Synapse (test/support/synapse.ts), a reading user with a real
 * access token, and one room of `--events` messages sent by appservice-masqueraded senders
 * (8 at a time; the AS is not rate limited). Every Nth message is a reaction, an edit or a
 * thread reply, so the mapper sees the usual mix.
 *
 * Measured: baseline and ferry alternate (ABAB…) `--repeat` times so that the load of the
 * shared machine hits both alike; each ferry run ingests into a fresh PostgreSQL database
 * (created and dropped outside the timing) in this process (no CLI start-up in the figure).
 * Prints each round, then the medians, min–max and the ratio of medians.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import pLimit from 'p-limit';
import { runIngestMatrix } from '../src/cli/commands/ingest-matrix.js';
import { silentLogger } from '../src/logger.js';
import { openStore } from '../src/store/store.js';
import { createPostgresDatabase } from '../test/support/databases.js';
import { SourceUser } from '../test/support/matrix-source.js';
import { startSynapse, type SynapseHandle } from '../test/support/synapse.js';

const { values } = parseArgs({
  options: {
    events: { type: 'string', default: '5000' },
    repeat: { type: 'string', default: '5' },
  },
});
const EVENTS = Number(values.events);
const REPEAT = Number(values.repeat);

async function asSend(
  synapse: SynapseHandle,
  roomId: string,
  userId: string,
  txn: string,
  type: string,
  content: unknown,
): Promise<string> {
  const q = new URLSearchParams({ user_id: userId });
  const res = await fetch(
    `${synapse.baseUrl}/_matrix/client/v3/rooms/${encodeURIComponent(roomId)}/send/${type}/${txn}?${q.toString()}`,
    {
      method: 'PUT',
      headers: {
        authorization: `Bearer ${synapse.registration.as_token}`,
        'content-type': 'application/json',
      },
      body: JSON.stringify(content),
    },
  );
  const body = (await res.json()) as { event_id?: string };
  if (!res.ok || body.event_id === undefined) throw new Error(`send: ${res.status}`);
  return body.event_id;
}

async function setup(synapse: SynapseHandle): Promise<{ reader: SourceUser; roomId: string }> {
  const reader = await SourceUser.register(synapse, '_ferry_bench_reader');
  const senders = await Promise.all(
    ['ann', 'ben', 'cid', 'dot'].map((n) => SourceUser.register(synapse, `_ferry_bench_${n}`)),
  );
  const roomId = await reader.createRoom({ preset: 'public_chat', name: 'bench' });
  for (const s of senders) await s.join(roomId);
  const limit = pLimit(8);
  const roots: string[] = [];
  const first = await asSend(synapse, roomId, senders[0]?.userId ?? '', 'root', 'm.room.message', {
    msgtype: 'm.text',
    body: 'first',
  });
  roots.push(first);
  await Promise.all(
    Array.from({ length: EVENTS - 1 }, (_, i) =>
      limit(() => {
        const sender = senders[i % senders.length]?.userId ?? '';
        const target = roots[0] ?? first;
        if (i % 20 === 5) {
          return asSend(synapse, roomId, sender, `r${i}`, 'm.reaction', {
            'm.relates_to': { rel_type: 'm.annotation', event_id: target, key: `${i}` },
          });
        }
        const thread =
          i % 10 === 3 ? { 'm.relates_to': { rel_type: 'm.thread', event_id: target } } : {};
        return asSend(synapse, roomId, sender, `m${i}`, 'm.room.message', {
          msgtype: 'm.text',
          body: `message ${i} with some words in it`,
          format: 'org.matrix.custom.html',
          formatted_body: `message <b>${i}</b> with some words in it`,
          ...thread,
        });
      }),
    ),
  );
  return { reader, roomId };
}

/** The bare loop: /messages dir=b limit=1000 from now to the start; returns events read. */
async function baseline(reader: SourceUser, roomId: string): Promise<number> {
  let from: string | undefined;
  let n = 0;
  for (;;) {
    const q = new URLSearchParams({
      dir: 'b',
      limit: '1000',
      ...(from === undefined ? {} : { from }),
    });
    const page = await reader.api(
      'GET',
      `/_matrix/client/v3/rooms/${encodeURIComponent(roomId)}/messages?${q.toString()}`,
    );
    n += (page['chunk'] as unknown[]).length;
    const end = page['end'];
    if (typeof end !== 'string' || end === from) return n;
    from = end;
  }
}

interface Timed {
  events: number;
  seconds: number;
  rate: number;
}

async function ferry(synapse: SynapseHandle, reader: SourceUser, roomId: string): Promise<Timed> {
  const db = await createPostgresDatabase();
  const media = await mkdtemp(join(os.tmpdir(), 'ferry-matrix-bench-'));
  const store = await openStore({ databaseUrl: db.url });
  try {
    const start = performance.now();
    const r = await runIngestMatrix(store, {
      logger: silentLogger,
      homeserver: synapse.baseUrl,
      rooms: [roomId],
      mediaDir: media,
      progress: false,
      env: { MATRIX_TOKEN: reader.token },
    });
    const seconds = (performance.now() - start) / 1000;
    return { events: r.homeserver.events, seconds, rate: r.homeserver.events / seconds };
  } finally {
    await store.close();
    await db.drop();
    await rm(media, { recursive: true, force: true });
  }
}

async function timed(fn: () => Promise<number>): Promise<Timed> {
  const start = performance.now();
  const events = await fn();
  const seconds = (performance.now() - start) / 1000;
  return { events, seconds, rate: events / seconds };
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? (s[mid] ?? 0) : ((s[mid - 1] ?? 0) + (s[mid] ?? 0)) / 2;
};
const load = () =>
  os
    .loadavg()
    .map((l) => l.toFixed(2))
    .join(' ');

const synapse = await startSynapse({ serverName: 'bench.test' });
try {
  const setupStart = performance.now();
  const { reader, roomId } = await setup(synapse);
  console.log(
    `bench:matrix-source  ${EVENTS} events in one room (setup ${((performance.now() - setupStart) / 1000).toFixed(1)} s), repeat ${REPEAT}, node ${process.version}, ${os.cpus().length} cores, load ${load()}`,
  );
  await baseline(reader, roomId); // warm Synapse's caches for both sides alike
  const base: Timed[] = [];
  const run: Timed[] = [];
  for (let i = 0; i < REPEAT; i++) {
    base.push(await timed(() => baseline(reader, roomId)));
    run.push(await ferry(synapse, reader, roomId));
    const b = base.at(-1);
    const f = run.at(-1);
    console.log(
      `round ${i + 1}: baseline ${b?.rate.toFixed(0)} ev/s (${b?.events} in ${b?.seconds.toFixed(2)} s)  ferry ${f?.rate.toFixed(0)} ev/s (${f?.events} in ${f?.seconds.toFixed(2)} s)  load ${load()}`,
    );
  }
  const br = base.map((t) => t.rate);
  const fr = run.map((t) => t.rate);
  console.log(
    `median: baseline ${median(br).toFixed(0)} ev/s (min ${Math.min(...br).toFixed(0)}, max ${Math.max(...br).toFixed(0)})  ferry ${median(fr).toFixed(0)} ev/s (min ${Math.min(...fr).toFixed(0)}, max ${Math.max(...fr).toFixed(0)})  ratio ${(median(fr) / median(br)).toFixed(2)}`,
  );
} finally {
  await synapse.stop();
}
