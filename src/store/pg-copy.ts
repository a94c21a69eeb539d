/**
 * `COPY <target> FROM …` on the connection of a knex transaction, for both backends:
 * PostgreSQL streams the text over the wire (`FROM STDIN`, pg-copy-streams); PGlite reads it
 * from its virtual `/dev/blob` file, handed over in the same call.
 */
import { once } from 'node:events';
import type { Knex } from 'knex';
import type pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import type { StoreBackend } from './store.js';

/** What knex-pglite's one connection is: the PGlite instance (only `query` is used here). */
interface PgliteConnection {
  query(
    sql: string,
    params: unknown[],
    options: { blob: Blob },
  ): Promise<{ affectedRows?: number }>;
}

/**
 * Loads `data` (COPY text format, whole lines, UTF-8) into `target` (`table (col, …)`) and returns
 * the rows loaded. Rejects with the server's error (e.g. a unique violation, with its `code`
 * and `constraint`) once the COPY has ended, leaving the connection usable inside the failed
 * transaction or savepoint.
 */
export async function copyLines(
  trx: Knex.Transaction,
  backend: StoreBackend,
  target: string,
  data: Buffer,
): Promise<number> {
  // Inside a transaction knex hands out the transaction's own connection.
  const client = trx.client as { acquireConnection(): Promise<unknown> };
  const connection = await client.acquireConnection();
  switch (backend) {
    case 'postgres': {
      const stream = (connection as pg.PoolClient).query(copyFrom(`copy ${target} from stdin`));
      const done = once(stream, 'finish');
      stream.end(data);
      await done;
      return stream.rowCount;
    }
    case 'pglite': {
      const result = await (connection as PgliteConnection).query(
        `copy ${target} from '/dev/blob'`,
        [],
        { blob: new Blob([data]) },
      );
      return result.affectedRows ?? 0;
    }
  }
}
