/**
 * Worker thread entry (started by day-file-pool.ts): maps and serialises day files, one at a
 * time in the order they arrive.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { FerryError } from '../../errors.js';
import { transferable } from '../../workers/module-worker.js';
import { dayFileOutput } from './day-file-output.js';
import type { DayFileWorkerInit, DayFileRequest, DayFileReply } from './day-file-pool.js';
import { mapDayFile, type DayFileEnv } from './slack-day-file.js';
import { RecordingUserRefs } from './slack-user-calls.js';
import { SlackUserLookups } from './slack-users.js';

const port = parentPort;
if (port === null) throw new Error('day-file-worker.ts runs only as a worker thread');
const init = workerData as DayFileWorkerInit;
const lookups = new SlackUserLookups(init.users);
const users = new RecordingUserRefs(lookups);
const env: DayFileEnv = {
  source: init.source,
  users,
  directory: lookups,
  localFiles: new Map(init.localFiles),
};

async function handle({ id, job, bytes }: DayFileRequest): Promise<void> {
  let reply: DayFileReply;
  try {
    const data = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const result = await mapDayFile(data, job, env);
    reply =
      result.kind === 'bad'
        ? { id, kind: 'bad', reason: result.reason }
        : {
            id,
            kind: 'ok',
            output: dayFileOutput(result.duplicates, result.messages, true),
            userCalls: users.take(),
          };
  } catch (e) {
    users.take(); // the ingest stops here; nothing of this file is replayed
    reply = {
      id,
      kind: 'error',
      code: e instanceof FerryError ? e.code : undefined,
      message: e instanceof Error ? e.message : String(e),
      stack: e instanceof FerryError ? undefined : e instanceof Error ? e.stack : undefined,
    };
  }
  const rows = reply.kind === 'ok' ? reply.output.items.at(-1) : undefined;
  port?.postMessage(reply, rows?.type === 'event_rows' ? transferable(rows.rows.data) : []);
}

// One file at a time: a file's placeholder calls must follow those of the file before it.
let queue = Promise.resolve();
port.on('message', (request: DayFileRequest) => {
  queue = queue.then(() => handle(request));
});
