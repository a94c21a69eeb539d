/**
 * A real Synapse for tests, driven through scripts/synapse.sh (docs/matrix-import.md §9).
 *
 * - `startSynapse()` starts a private homeserver (fresh temp dir, free port) and returns a
 *   handle; the caller stops it (typically in `afterAll`).
 * - `sharedSynapse()` starts one homeserver per test worker process on first use and stops it
 *   when the process exits. Tests that share it must not depend on a pristine server (use
 *   unique user localparts and room aliases) and must not call `stop()` on it.
 *
 * Every Synapse started here is also stopped by the script's watchdog when this process dies,
 * so a killed test run leaves no homeserver behind.
 */
import { execFile } from 'node:child_process';
import { createHmac, randomBytes } from 'node:crypto';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

import {
  createRegistration,
  readRegistrationFile,
  writeRegistrationFile,
  type Registration,
} from '../../src/matrix/registration.js';

const REPO_ROOT = fileURLToPath(new URL('../..', import.meta.url));
const SCRIPT = join(REPO_ROOT, 'scripts', 'synapse.sh');
/** Cold install takes ~25 s; leave room for a slow network. */
const SCRIPT_TIMEOUT_MS = 600_000;

export const ADMIN_LOCALPART = 'admin';

export interface StartSynapseOptions {
  /** Data directory; reused if it already holds a homeserver. Default: a fresh temp dir. */
  dir?: string;
  /** Port on 127.0.0.1. Default: a free one. */
  port?: number;
  /** Default `ferry.test`. Fixed for the life of `dir`. */
  serverName?: string;
  /** Registration also claims every local user, non-exclusively (identity-mapping tests). */
  claimLocalUsers?: boolean;
  /**
   * Synapse's own database: PostgreSQL at this URL (created by the caller: UTF8, C collation,
   * from template0; see `createSynapseDatabase`) instead of SQLite in `dir`.
   */
  databaseUrl?: string;
  /**
   * Worker mode (needs `databaseUrl`): Redis, main, this many event persisters (generic
   * workers `persister1..N`) and the router on `port` (scripts/synapse-workers.sh).
   */
  workers?: number;
}

export interface SynapseHandle {
  /** `http://127.0.0.1:<port>` */
  baseUrl: string;
  serverName: string;
  /** The AS registration Synapse loaded (id `ferry-test`, prefix `_ferry_`, exclusive). */
  registration: Registration;
  registrationPath: string;
  dir: string;
  port: number;
  /** Access token of `@admin:<serverName>`, a server admin outside the AS namespace. */
  adminToken: string;
  /** Stops and starts Synapse with the same data, port and registration (crash tests). */
  restart(): Promise<void>;
  /**
   * Runs the start command again: starts whichever process of the homeserver is not running
   * (a worker killed by a test) and waits until it answers.
   */
  ensureRunning(): Promise<void>;
  /**
   * Stops Synapse. A temp dir created by `startSynapse` is deleted afterwards unless
   * FERRY_KEEP_SYNAPSE_DIR=1. Idempotent.
   */
  stop(): Promise<void>;
}

function runScript(args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(
      'bash',
      [SCRIPT, ...args],
      { timeout: SCRIPT_TIMEOUT_MS, maxBuffer: 16 * 1024 * 1024 },
      (error, stdout, stderr) => {
        if (error) {
          reject(
            new Error(`scripts/synapse.sh ${args[0] ?? ''} failed: ${error.message}\n${stderr}`),
          );
        } else {
          resolve(stdout);
        }
      },
    );
  });
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => (port > 0 ? resolve(port) : reject(new Error('no free port'))));
    });
  });
}

async function fetchJson(
  url: string,
  init: RequestInit = {},
): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(url, init);
  const body = (await res.json()) as Record<string, unknown>;
  return { status: res.status, body };
}

/**
 * Registers `@admin` through the shared-secret admin API (docs/admin_api/register_api.md) and
 * returns its access token. The token is kept in DIR/admin-token so a reused dir keeps working.
 */
async function adminToken(baseUrl: string, dir: string): Promise<string> {
  const tokenFile = join(dir, 'admin-token');
  if (existsSync(tokenFile)) {
    const token = (await readFile(tokenFile, 'utf8')).trim();
    const who = await fetch(`${baseUrl}/_matrix/client/v3/account/whoami`, {
      headers: { Authorization: `Bearer ${token}` },
    });
    if (who.ok) return token;
  }

  const secret = (await readFile(join(dir, 'shared-secret'), 'utf8')).trim();
  const registerUrl = `${baseUrl}/_synapse/admin/v1/register`;
  const { body: nonceBody } = await fetchJson(registerUrl);
  const nonce = nonceBody.nonce;
  if (typeof nonce !== 'string') throw new Error('admin register: no nonce');
  const password = randomBytes(16).toString('hex');
  const mac = createHmac('sha1', secret)
    .update([nonce, ADMIN_LOCALPART, password, 'admin'].join('\0'))
    .digest('hex');
  const { status, body } = await fetchJson(registerUrl, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ nonce, username: ADMIN_LOCALPART, password, admin: true, mac }),
  });
  const token = body.access_token;
  if (status !== 200 || typeof token !== 'string') {
    throw new Error(`admin register failed: ${status} ${String(body.errcode)}`);
  }
  await writeFile(tokenFile, token, { mode: 0o600 });
  return token;
}

export async function startSynapse(opts: StartSynapseOptions = {}): Promise<SynapseHandle> {
  await runScript(['install']);

  const ownDir = opts.dir === undefined;
  const dir = opts.dir ?? (await mkdtemp(join(tmpdir(), 'ferry-synapse-')));
  await mkdir(dir, { recursive: true });
  const serverName = opts.serverName ?? 'ferry.test';
  const port = opts.port ?? (await freePort());

  // A reused dir keeps its registration: Synapse may already be running with those tokens.
  const registrationPath = join(dir, 'registration.yaml');
  let registration: Registration;
  if (existsSync(registrationPath)) {
    registration = await readRegistrationFile(registrationPath);
  } else {
    registration = createRegistration({
      id: 'ferry-test',
      serverName,
      userPrefix: '_ferry_',
      aliasPrefix: '_ferry_',
      senderLocalpart: '_ferry_bot',
      exclusive: true,
      claimLocalUsers: opts.claimLocalUsers,
    });
    await writeRegistrationFile(registrationPath, registration);
  }

  const startArgs = [
    '--dir',
    dir,
    '--port',
    String(port),
    '--registration',
    registrationPath,
    '--server-name',
    serverName,
    '--watch-pid',
    String(process.pid),
    ...(opts.databaseUrl === undefined ? [] : ['--database-url', opts.databaseUrl]),
    ...(opts.workers === undefined ? [] : ['--workers', String(opts.workers)]),
  ];
  await runScript(['start', ...startArgs]);

  const baseUrl = `http://127.0.0.1:${port}`;
  let stopped = false;
  return {
    baseUrl,
    serverName,
    registration,
    registrationPath,
    dir,
    port,
    adminToken: await adminToken(baseUrl, dir),
    async restart() {
      await runScript(['restart', ...startArgs]);
    },
    async ensureRunning() {
      await runScript(['start', ...startArgs]);
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      await runScript(['stop', '--dir', dir]);
      if (ownDir && process.env.FERRY_KEEP_SYNAPSE_DIR !== '1') {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  };
}

let shared: Promise<SynapseHandle> | undefined;

/**
 * Exit-time clean-up of the shared homeserver. Must be synchronous and quick: it only signals
 * Synapse (which finishes shutting down on its own) and removes the temp dir.
 */
function stopAtExit(dir: string): void {
  try {
    const pid = Number(readFileSync(join(dir, 'synapse.pid'), 'utf8').trim());
    if (Number.isInteger(pid) && pid > 0) process.kill(pid, 'SIGTERM');
  } catch {
    // Already stopped; the script's watchdog covers everything else.
  }
  if (process.env.FERRY_KEEP_SYNAPSE_DIR !== '1') {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * One Synapse per test worker process, started on first call and stopped when the process
 * exits. Do not call `stop()` on it; `restart()` is fine.
 */
export function sharedSynapse(): Promise<SynapseHandle> {
  shared ??= startSynapse().then(
    (handle) => {
      process.once('exit', () => stopAtExit(handle.dir));
      // vitest ends its fork workers with SIGTERM, which skips 'exit' handlers: clean up, then
      // re-raise so the default termination still happens.
      process.once('SIGTERM', () => {
        stopAtExit(handle.dir);
        process.kill(process.pid, 'SIGTERM');
      });
      return handle;
    },
    (error: unknown) => {
      shared = undefined;
      throw error;
    },
  );
  return shared;
}
