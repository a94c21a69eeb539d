/**
 * Configuration: an optional YAML file validated once into a typed object. Precedence for each
 * setting: command-line flag > environment variable > config file > default.
 */
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { z } from 'zod';
import { FerryError } from '../errors.js';

/**
 * A Matrix room ID: `!opaque:server`, or `!opaque` alone (room v12 drops the server part). The
 * same shape the Matrix-origin adapters accept (`isMatrixRoomId` in src/model/matrix-keys.ts),
 * so every room they can read can be merged.
 */
const matrixRoomId = z
  .string()
  .regex(/^![^\s]+$/, { message: 'expected a Matrix room ID (!opaque:server)' });

/** `merge.rooms` must end every chain at a room that maps nowhere else (a self-mapping is a no-op). */
function noMergeCycles(rooms: Record<string, string>, ctx: z.RefinementCtx): void {
  for (const start of Object.keys(rooms)) {
    const path = [start];
    let at = rooms[start];
    while (at !== undefined && !path.includes(at)) {
      path.push(at);
      at = rooms[at];
    }
    if (at === start && path.length > 1) {
      ctx.addIssue({
        code: 'custom',
        message: `rooms merge into each other in a cycle: ${[...path, start].join(' → ')}`,
        path: [start],
      });
    }
  }
}

/**
 * `merge.rooms` with chains followed: every listed room ID → the room it finally merges into.
 * Self-mappings are dropped. The config schema has already rejected cycles.
 */
export function roomMergeMap(config: FerryConfig): ReadonlyMap<string, string> {
  const rooms = config.merge.rooms;
  const out = new Map<string, string>();
  for (const start of Object.keys(rooms)) {
    const seen = new Set([start]);
    let at = start;
    for (let next = rooms[at]; next !== undefined && !seen.has(next); next = rooms[at]) {
      seen.add(next);
      at = next;
    }
    if (at !== start) out.set(start, at);
  }
  return out;
}

export const configSchema = z
  .object({
    database: z
      .string()
      .describe('PostgreSQL URL of the store (postgres://…). Empty: the embedded store in dataDir.')
      .optional(),
    dataDir: z
      .string()
      .describe('Folder of the embedded store (PGlite). Used when no database URL is set.')
      .default('ferry-data'),
    slack: z
      .object({
        workspaceName: z
          .string()
          .describe('Display name for the workspace space (Slack exports do not carry one).')
          .optional(),
      })
      .default({}),
    identity: z
      .object({
        userTemplate: z
          .string()
          .describe(
            'Ghost localpart template: {prefix} (matrix.userPrefix), {kind} (slack, matrix), {id} (source ID), {name} (source handle).',
          )
          .default('{prefix}{kind}_{id}'),
        users: z
          .record(z.string(), z.string())
          .describe(
            'Explicit mappings: source user ID (U01ABC, @alice:matrix.org) or email → existing Matrix user ID.',
          )
          .default({}),
        usersCsv: z
          .string()
          .describe('CSV file of more explicit mappings: source ID or email, Matrix user ID.')
          .optional(),
        matchEmails: z
          .boolean()
          .describe(
            'Map users to existing accounts with the same email (admin API; admin token in $FERRY_ADMIN_TOKEN).',
          )
          .default(false),
        matrixServers: z
          .record(z.string(), z.enum(['local', 'ghost']))
          .describe(
            'Remote Matrix servers whose users have accounts of the same localpart here (local), or become ghosts (ghost, the default).',
          )
          .default({}),
      })
      .strict()
      .default({
        userTemplate: '{prefix}{kind}_{id}',
        users: {},
        matchEmails: false,
        matrixServers: {},
      }),
    rooms: z
      .record(z.string(), z.string())
      .describe(
        'Source room (ID or key) → existing Matrix room ID or alias to write into instead of creating a room.',
      )
      .default({}),
    merge: z
      .object({
        rooms: z
          .record(matrixRoomId, matrixRoomId)
          .superRefine(noMergeCycles)
          .describe(
            'Matrix rooms to import as one: room ID → canonical room ID (an upgraded room → its successor, or one room exported from two servers under different IDs). Chains are followed; events keep their own IDs.',
          )
          .default({}),
      })
      .strict()
      .default({ rooms: {} }),
    matrix: z
      .object({
        homeserver: z
          .string()
          .describe('Client-server API base URL of the homeserver, e.g. http://127.0.0.1:8008.')
          .optional(),
        registration: z
          .string()
          .describe('Path of the appservice registration file written by `ferry registration`.')
          .default('ferry-registration.yaml'),
        userPrefix: z
          .string()
          .describe('Localpart prefix of imported (ghost) users; must match the registration.')
          .default('ferry_'),
        aliasPrefix: z
          .string()
          .describe('Localpart prefix of room aliases; must match the registration.')
          .default('ferry_'),
        concurrency: z
          .number()
          .int()
          .min(1)
          .max(64)
          .describe('Rooms written in parallel (each room strictly in order).')
          .default(4),
        downloadMedia: z
          .boolean()
          .describe('Download file bodies from their URLs when the export does not contain them.')
          .default(false),
        maxUploadBytes: z
          .number()
          .int()
          .positive()
          .describe('Larger files are posted as a link instead of uploaded.')
          .default(50 * 1024 * 1024),
        readMarkers: z
          .boolean()
          .describe('Mark imported rooms as read for their members at the end.')
          .default(true),
        imageReactions: z
          .boolean()
          .describe(
            'React with custom emoji images (mxc keys; clients without image reactions show the raw URI) instead of :name: text.',
          )
          .default(false),
      })
      .strict()
      .default({
        registration: 'ferry-registration.yaml',
        userPrefix: 'ferry_',
        aliasPrefix: 'ferry_',
        concurrency: 4,
        downloadMedia: false,
        maxUploadBytes: 50 * 1024 * 1024,
        readMarkers: true,
        imageReactions: false,
      }),
  })
  .strict();

export type FerryConfig = z.infer<typeof configSchema>;

export function loadConfig(path: string | undefined): FerryConfig {
  if (path === undefined) return configSchema.parse({});
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    throw new FerryError('input_not_found', `${path}: cannot read the config file`);
  }
  let raw: unknown;
  try {
    raw = parse(text) ?? {};
  } catch (e) {
    throw new FerryError(
      'config_invalid',
      `${path}: not valid YAML (${e instanceof Error ? e.message : String(e)})`,
    );
  }
  const result = configSchema.safeParse(dropNulls(raw));
  if (!result.success) {
    throw new FerryError('config_invalid', `${path}: ${z.prettifyError(result.error)}`);
  }
  return result.data;
}

/** A YAML section whose keys are all commented out reads as null: treat it as absent. */
export function dropNulls(value: unknown): unknown {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return value;
  return Object.fromEntries(
    Object.entries(value)
      .filter(([, v]) => v !== null)
      .map(([k, v]) => [k, dropNulls(v)]),
  );
}

export interface StoreSelection {
  databaseUrl?: string;
  dataDir: string;
}

/** Which store to open: --database, then DATABASE_URL, then the config file, then embedded. */
export function storeSelection(
  flags: { database?: string; dataDir?: string },
  config: FerryConfig,
  env: NodeJS.ProcessEnv = process.env,
): StoreSelection {
  const databaseUrl = flags.database ?? nonEmpty(env.DATABASE_URL) ?? config.database;
  return { databaseUrl: nonEmpty(databaseUrl), dataDir: flags.dataDir ?? config.dataDir };
}

const nonEmpty = (s: string | undefined): string | undefined =>
  s === undefined || s === '' ? undefined : s;
