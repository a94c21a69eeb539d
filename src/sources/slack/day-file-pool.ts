/**
 * Worker threads that map and serialise day files (day-file-worker.ts), so that a large export
 * uses every core: parsing, mapping and encoding are most of an ingest's CPU time, and the main
 * thread is left with reading the archive and forwarding bytes to the store.
 *
 * Files must be submitted in export order (`run` calls in order): each worker handles its files
 * in the order received, which keeps placeholder-user calls replayable (slack-user-calls.ts).
 */
import { availableParallelism } from 'node:os';
import type { Worker } from 'node:worker_threads';
import { FerryError, WorkerCrash, type FerryErrorCode } from '../../errors.js';
import type { SourceKey } from '../../model/index.js';
import { startModuleWorker, transferable } from '../../workers/module-worker.js';
import type { DayFileOutput } from './day-file-output.js';
import type { DayFileJob } from './slack-day-file.js';
import type { SlackUserCall } from './slack-user-calls.js';
import type { SlackUserLookupData } from './slack-users.js';

/** What every worker needs before its first file (sent once the user lists are read). */
export interface DayFileWorkerInit {
  source: SourceKey;
  users: SlackUserLookupData;
  localFiles: [string, string][];
}

export type DayFileWorkerMessage =
  | { type: 'init'; init: DayFileWorkerInit }
  | { type: 'file'; id: number; job: DayFileJob; bytes: Uint8Array };

export type WorkerDayFile =
  | { kind: 'ok'; output: DayFileOutput; userCalls: SlackUserCall[] }
  | { kind: 'bad'; reason: string };

export type DayFileReply = { id: number } & (
  | WorkerDayFile
  | { kind: 'error'; code?: FerryErrorCode; name?: string; message: string; stack?: string }
);

/**
 * Workers worth starting on this machine: one per core but one (the main thread reads the
 * archive and drives the store), at least 1, at most 4. On 2 cores, 1 worker was as fast as 2
 * at 1M messages and 60 MB smaller.
 */
export function defaultDayFileWorkers(): number {
  return Math.max(1, Math.min(4, availableParallelism() - 1));
}

interface Pending {
  /** The day file, `<archive>: <entry>`, named if the worker crashes on it. */
  file: string;
  resolve: (result: WorkerDayFile) => void;
  reject: (e: unknown) => void;
}

interface Member {
  worker: Worker;
  pending: Map<number, Pending>;
}

export class DayFilePool {
  private readonly members: Member[];
  private nextId = 0;
  private failure: Error | undefined;

  /** Starts the workers; `init` must follow before the first `run`. */
  constructor(size: number) {
    const entry = new URL(
      import.meta.url.endsWith('.ts') ? './day-file-worker.ts' : './day-file-worker.js',
      import.meta.url,
    );
    this.members = Array.from({ length: Math.max(1, size) }, () => {
      const member: Member = { worker: startModuleWorker(entry), pending: new Map() };
      member.worker.on('message', (reply: DayFileReply) => this.settle(member, reply));
      // A thread that dies was on the oldest of its files (it maps them one at a time).
      member.worker.on('error', (e) => this.fail(this.crash(member, e)));
      member.worker.on('exit', (code) => {
        if (member.pending.size > 0) {
          this.fail(this.crash(member, new Error(`the thread exited with code ${code}`)));
        }
      });
      return member;
    });
  }

  get size(): number {
    return this.members.length;
  }

  init(init: DayFileWorkerInit): void {
    const message: DayFileWorkerMessage = { type: 'init', init };
    for (const m of this.members) m.worker.postMessage(message);
  }

  /** Maps one file on the least busy worker. Call in export order, after `init`. */
  run(job: DayFileJob, bytes: Uint8Array): Promise<WorkerDayFile> {
    if (this.failure !== undefined) return Promise.reject(this.failure);
    let member = this.members[0] as Member;
    for (const m of this.members) if (m.pending.size < member.pending.size) member = m;
    const id = this.nextId++;
    return new Promise<WorkerDayFile>((resolve, reject) => {
      member.pending.set(id, { file: `${job.label}: ${job.path}`, resolve, reject });
      const request: DayFileWorkerMessage = { type: 'file', id, job, bytes };
      member.worker.postMessage(request, transferable(bytes));
    });
  }

  /** Stops every worker; files still being mapped are rejected. */
  async close(): Promise<void> {
    this.fail(new Error('the day-file workers were stopped'));
    await Promise.all(this.members.map((m) => m.worker.terminate()));
  }

  private settle(member: Member, reply: DayFileReply): void {
    const pending = member.pending.get(reply.id);
    if (pending === undefined) return;
    member.pending.delete(reply.id);
    switch (reply.kind) {
      case 'ok':
      case 'bad':
        pending.resolve(reply);
        break;
      case 'error': {
        if (reply.code !== undefined) {
          pending.reject(new FerryError(reply.code, reply.message));
        } else {
          const e = new Error(reply.message);
          if (reply.name !== undefined) e.name = reply.name;
          if (reply.stack !== undefined) e.stack = reply.stack;
          pending.reject(new WorkerCrash('a day-file worker', pending.file, e));
        }
        break;
      }
    }
  }

  private crash(member: Member, e: Error): WorkerCrash {
    const oldest = member.pending.values().next();
    return new WorkerCrash(
      'a day-file worker',
      oldest.done === true ? undefined : oldest.value.file,
      e,
    );
  }

  private fail(e: Error): void {
    this.failure ??= e;
    for (const m of this.members) {
      for (const p of m.pending.values()) p.reject(this.failure);
      m.pending.clear();
    }
  }
}
