/**
 * The embedded store: starting PGlite (PostgreSQL compiled to WebAssembly) on a data folder so
 * that it stays small in memory, and handing it to knex.
 *
 * What PGlite's memory is made of (PGlite 0.5.16, Node 20, measured with maxRSS). PostgreSQL
 * runs inside one WebAssembly memory; its pages count toward RSS once they are touched, and the
 * memory can grow but never shrinks or gives pages back.
 *
 * - `shared_buffers`: initdb writes 128MB into the folder's postgresql.conf, and PGlite touches
 *   almost all of it while it starts, so reopening a store costs ~150 MB of WebAssembly memory
 *   before the first query. With 16MB it is ~30 MB (~50 MB after a re-ingest's merge). A first
 *   ingest (rows written once) runs as fast; a re-ingest merging into a large `events` table
 *   measured ~10% slower (32MB would win that back for ~20 MB more). The setting is passed on
 *   the command line (`-c`), which overrides postgresql.conf without editing it: folders made
 *   before this change open unchanged, and a folder opened here still opens in plain PGlite.
 * - creating a store (initdb) starts a second PGlite and the initdb module next to the first one
 *   and peaks at ~900 MB RSS, which the process then keeps (freed WebAssembly memory and compiler
 *   arenas are not returned). A missing store is therefore created by a short-lived child process
 *   (`createPgliteCluster`); the process that ingests only ever reopens an existing folder.
 * - the rest, ~120 MB, is V8 compiling and running the 9 MB WebAssembly module: ~70 MB of it is
 *   the optimising compiler's (TurboFan) memory, which V8's `--liftoff-only` would save at the
 *   price of a ~20% slower ingest, so it is left on. `initialMemory` cannot go below the
 *   module's own 128 MB and untouched pages cost nothing; `relaxedDurability` only defers
 *   `syncToFs`, which does nothing on Node's file system.
 */
import { spawn } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type * as PgliteModule from '@electric-sql/pglite';
import knexPkg, { type Knex } from 'knex';
import { FerryError } from '../errors.js';
import type { Logger } from '../logger.js';

/**
 * PostgreSQL settings every PGlite store runs with, on top of PGlite's own defaults. Passed as
 * `-c name=value` at every start; never written into the folder.
 */
export const PGLITE_SETTINGS: Readonly<Record<string, string>> = {
  shared_buffers: '16MB',
};

/** How much of a failing child's stderr is kept (its tail). */
const CHILD_ERROR_CHARS = 2000;

// knex-pglite loads PGlite's CommonJS build; loading the same build here keeps one copy of
// PGlite's code in the process (the ESM build would be a second one).
const require = createRequire(import.meta.url);
const PGLITE_ENTRY = require.resolve('@electric-sql/pglite');

/**
 * The command line PGlite starts PostgreSQL with: PGlite's defaults (which `startParams`
 * replaces rather than extends) followed by `settings` as `-c` options, which take precedence
 * over the folder's postgresql.conf.
 */
export function pgliteStartParams(
  defaults: readonly string[],
  settings: Readonly<Record<string, string>> = PGLITE_SETTINGS,
): string[] {
  return [...defaults, ...Object.entries(settings).flatMap(([k, v]) => ['-c', `${k}=${v}`])];
}

/** Whether `dir` holds an initialised PostgreSQL cluster (initdb writes PG_VERSION). */
export function isPgliteCluster(dir: string): boolean {
  return existsSync(join(dir, 'PG_VERSION'));
}

// Runs in the child (`node -e`): valid as CommonJS and as ESM and needs no TypeScript loader.
// On failure its last stderr line is the error as JSON (read by `childFailure`). V8's baseline
// compiler alone (--liftoff-only) makes initdb ~35% faster; it is set from inside because an
// unknown flag on node's command line would stop node, while setFlagsFromString ignores it.
const CREATE_SCRIPT = `
const [entry, dir, params] = process.argv.slice(1);
import('node:v8')
  .then((v8) => v8.setFlagsFromString('--liftoff-only'))
  .then(() => import(entry))
  .then((m) => m.default.PGlite.create(dir, { startParams: JSON.parse(params) }))
  .then((pg) => pg.close())
  .then(
    () => process.exit(0),
    (e) => {
      const error = e instanceof Error ? { message: e.message } : { errno: e && e.errno, text: String(e) };
      process.stderr.write('\\n' + JSON.stringify(error) + '\\n');
      process.exit(1);
    },
  );
`;

/**
 * Creates an empty PGlite cluster (initdb and a first start) in `dir`, in a child process so
 * that initdb's memory is returned to the system when it ends. `dir` must exist. Resolves once
 * the child has closed the store; rejects with a `store_unavailable` FerryError naming `dir`
 * and saying what went wrong if it fails. Runs no migrations. `settings` as in PGLITE_SETTINGS.
 */
export async function createPgliteCluster(
  dir: string,
  settings: Readonly<Record<string, string>> = PGLITE_SETTINGS,
): Promise<void> {
  const { PGlite } = loadPglite();
  const params = JSON.stringify(pgliteStartParams(PGlite.defaultStartParams, settings));
  const entry = pathToFileURL(PGLITE_ENTRY).href;
  const notEmpty = readdirSync(dir).length > 0;
  const failure = await new Promise<string | undefined>((resolveRun) => {
    const child = spawn(process.execPath, ['-e', CREATE_SCRIPT, entry, dir, params], {
      stdio: ['ignore', 'ignore', 'pipe'],
      windowsHide: true,
    });
    let stderr = '';
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (chunk: string) => {
      stderr = (stderr + chunk).slice(-CHILD_ERROR_CHARS);
    });
    child.on('error', (e) => resolveRun(e.message));
    child.on('close', (code, signal) => {
      resolveRun(code === 0 ? undefined : childFailure(stderr, signal ?? `exit code ${code}`));
    });
  });
  if (failure !== undefined) {
    const hint = notEmpty ? ' (the folder was not empty and held no store)' : '';
    throw new FerryError(
      'store_unavailable',
      `cannot create the store at ${dir}: ${failure}${hint}`,
    );
  }
}

/**
 * Starts PGlite on `dir` (created first if it holds no cluster yet) and returns a knex instance
 * on it; `knex.destroy()` closes PGlite. Failures are `store_unavailable` FerryErrors naming
 * `dir`. Migrations are the caller's business.
 */
export async function openPgliteKnex(dir: string, logger: Logger): Promise<Knex> {
  if (!isPgliteCluster(dir)) {
    const t0 = performance.now();
    await createPgliteCluster(dir);
    logger.info({ dir, ms: Math.round(performance.now() - t0) }, 'store created');
  }
  const { PGlite } = loadPglite();
  let pglite: PgliteModule.PGlite;
  try {
    pglite = await PGlite.create(dir, {
      startParams: pgliteStartParams(PGlite.defaultStartParams),
    });
  } catch (e) {
    throw new FerryError('store_unavailable', `cannot open the store at ${dir}: ${errorText(e)}`, {
      cause: e,
      retryable: true,
    });
  }
  const { default: ClientPgLite } = await import('knex-pglite');
  return knexPkg.knex({
    client: ClientPgLite,
    dialect: 'postgres',
    // knex-pglite uses a ready PGlite passed as `connection.pglite` (knex keeps class instances
    // as they are); knex's connection type does not know the field.
    connection: { pglite } as Knex.StaticConnectionConfig,
  });
}

/** What the child said about its failure: its JSON error line, else its stderr's tail. */
function childFailure(stderr: string, ending: string): string {
  const lines = stderr.trim().split('\n');
  const last = lines.at(-1) ?? '';
  try {
    const parsed = JSON.parse(last) as { message?: unknown; errno?: unknown; text?: unknown };
    if (typeof parsed.message === 'string') return parsed.message;
    return errorText(parsed);
  } catch {
    return stderr.trim() || `the process ended with ${ending}`;
  }
}

/**
 * Readable text for what PGlite throws: an Error's message, or for an Emscripten file-system
 * error (a plain `{ errno }` object) the errno's name, e.g. "file system error ENOTDIR".
 */
function errorText(e: unknown): string {
  if (e instanceof Error) return e.message;
  if (typeof e === 'object' && e !== null && 'errno' in e && typeof e.errno === 'number') {
    const errno = e.errno;
    const { ERRNO_CODES } = require('@electric-sql/pglite/basefs') as {
      ERRNO_CODES: Record<string, number>;
    };
    const name = Object.keys(ERRNO_CODES).find((k) => ERRNO_CODES[k] === errno);
    return `file system error ${name ?? `errno ${errno}`}`;
  }
  if (typeof e === 'object' && e !== null && 'text' in e && typeof e.text === 'string') {
    return e.text;
  }
  return String(e);
}

/** PGlite's CommonJS build, loaded on first use: it brings the WebAssembly Postgres along. */
function loadPglite(): typeof PgliteModule {
  return require(PGLITE_ENTRY) as typeof PgliteModule;
}
