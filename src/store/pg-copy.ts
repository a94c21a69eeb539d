/** `COPY … FROM STDIN` on the connection of a knex transaction (PostgreSQL only). */
import { once } from 'node:events';
import type { Knex } from 'knex';
import type pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';

/**
 * Streams `text` (COPY text format, whole lines) through `sql` and returns the rows loaded.
 * Rejects with the server's error (e.g. a unique violation) once the COPY has ended, leaving
 * the connection usable (inside a failed transaction or savepoint).
 */
export async function copyText(trx: Knex.Transaction, sql: string, text: string): Promise<number> {
  // Inside a transaction knex hands out the transaction's own connection.
  const client = trx.client as { acquireConnection(): Promise<unknown> };
  const connection = (await client.acquireConnection()) as pg.PoolClient;
  const stream = connection.query(copyFrom(sql));
  const done = once(stream, 'finish');
  stream.end(text);
  await done;
  return stream.rowCount;
}
