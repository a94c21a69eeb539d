/**
 * Small pieces the benchmarks share: a process's CPU time, one-off admin SQL, and database URLs
 * on the benchmark's PostgreSQL server.
 */
import { readFileSync } from 'node:fs';
import pg from 'pg';

/**
 * User + system CPU time of a process in ms (`/proc/PID/stat` fields 14 and 15, clock ticks of
 * 10 ms); undefined when there is no such process (or no PID).
 */
export function processCpuMs(pid: number | undefined): number | undefined {
  if (pid === undefined) return undefined;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) * 10;
  } catch {
    return undefined;
  }
}

/** Runs one statement on its own connection and returns its rows. */
export async function adminQuery<T extends pg.QueryResultRow>(
  url: string,
  sql: string,
): Promise<T[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query<T>(sql)).rows;
  } finally {
    await client.end();
  }
}

/** The URL of database `name` on the server of `adminUrl`. */
export function databaseUrl(adminUrl: string, name: string): string {
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return url.toString();
}

/** `processCpuMs` for a process that must exist (the Synapse being measured). */
export function requireCpuMs(pid: number): number {
  const ms = processCpuMs(pid);
  if (ms === undefined) throw new Error(`process ${pid} is gone: cannot read its CPU time`);
  return ms;
}
