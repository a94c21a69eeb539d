/**
 * Worker thread entry (started by day-file-pool.ts): maps and serialises day files, one at a
 * time in the order they arrive, after the `init` message.
 */
import { parentPort } from 'node:worker_threads';
import { FerryError } from '../../errors.js';
import { transferable } from '../../workers/module-worker.js';
import { dayFileOutput } from './day-file-output.js';
import type { DayFileReply, DayFileWorkerInit, DayFileWorkerMessage } from './day-file-pool.js';
import { mapDayFile, type DayFileEnv, type DayFileJob } from './slack-day-file.js';
import { RecordingUserRefs } from './slack-user-calls.js';
import { SlackUserLookups } from './slack-users.js';

const port = parentPort;
if (port === null) throw new Error('day-file-worker.ts runs only as a worker thread');

interface WorkerState {
  env: DayFileEnv;
  users: RecordingUserRefs;
}

function start(init: DayFileWorkerInit): WorkerState {
  const lookups = new SlackUserLookups(init.users);
  const users = new RecordingUserRefs(lookups);
  return {
    users,
    env: { source: init.source, users, directory: lookups, localFiles: new Map(init.localFiles) },
  };
}

async function handle(
  state: WorkerState,
  id: number,
  job: DayFileJob,
  bytes: Uint8Array,
): Promise<DayFileReply> {
  try {
    const data = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const result = await mapDayFile(data, job, state.env);
    if (result.kind === 'bad') return { id, kind: 'bad', reason: result.reason };
    return {
      id,
      kind: 'ok',
      output: dayFileOutput(result.duplicates, result.messages, true),
      userCalls: state.users.take(),
    };
  } catch (e) {
    state.users.take(); // the ingest stops here; nothing of this file is replayed
    return {
      id,
      kind: 'error',
      code: e instanceof FerryError ? e.code : undefined,
      name: e instanceof Error ? e.name : undefined,
      message: e instanceof Error ? e.message : String(e),
      stack: e instanceof FerryError ? undefined : e instanceof Error ? e.stack : undefined,
    };
  }
}

let state: WorkerState | undefined;
// One file at a time: a file's placeholder calls must follow those of the file before it.
let queue = Promise.resolve();
port.on('message', (message: DayFileWorkerMessage) => {
  switch (message.type) {
    case 'init':
      state = start(message.init);
      break;
    case 'file':
      queue = queue.then(async () => {
        if (state === undefined) throw new Error('a day file arrived before init');
        const reply = await handle(state, message.id, message.job, message.bytes);
        const rows = reply.kind === 'ok' ? reply.output.items.at(-1) : undefined;
        port.postMessage(reply, rows?.type === 'event_rows' ? transferable(rows.rows.data) : []);
      });
      break;
  }
});
