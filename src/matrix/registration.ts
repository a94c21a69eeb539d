/**
 * Application-service registration files (docs/matrix-import.md §1).
 *
 * ferry talks to Synapse as an application service (AS). Synapse learns about the AS from a
 * YAML registration file listed in `app_service_config_files`; it reads the file once at
 * start-up, so any change needs a Synapse restart. This module creates, writes and reads that
 * file. It never logs, and its errors never contain `as_token` or `hs_token`.
 */
import { randomBytes } from 'node:crypto';
import { chmod, readFile, writeFile } from 'node:fs/promises';

import { parse, stringify } from 'yaml';
import { z } from 'zod';

import { FerryError } from '../errors.js';

/**
 * One namespace entry. Synapse applies `regex` with Python's `re.match` (anchored at the start
 * only) to the full identifier (`@local:server`, `#alias:server`, `!room:server`), so every
 * regex ferry writes is anchored at both ends with the server name escaped.
 */
export interface Namespace {
  regex: string;
  /**
   * `true`: only this AS may register or create identifiers matching `regex`. For users this
   * also disables push-rule evaluation and hides them from the user directory (§1.3).
   */
  exclusive: boolean;
}

/**
 * The registration file's content, with Synapse's own key names (snake_case) so the object
 * serialises to YAML as it is. Only the fields ferry uses are modelled; Synapse ignores none
 * of them.
 */
export interface Registration {
  /** Unique, never-changing AS id. Also the key of Synapse's txn-id cache (§5.9). */
  id: string;
  /**
   * HS→AS push URL. ferry never receives traffic, so it is always `null`. The key must be
   * present: Synapse refuses a file without it.
   */
  url: string | null;
  /** Bearer token ferry sends to Synapse. Secret: never log it. */
  as_token: string;
  /** Token Synapse would send to the AS (unused with `url: null`). Secret: never log it. */
  hs_token: string;
  /** Localpart of the AS bot user (`@<sender_localpart>:<server>`). */
  sender_localpart: string;
  /** `false` exempts every request made with `as_token` from Synapse's rate limiters (§7.3). */
  rate_limited: boolean;
  namespaces: {
    users: Namespace[];
    aliases: Namespace[];
    rooms: Namespace[];
  };
}

/** Input of {@link createRegistration}. */
export interface CreateRegistrationOptions {
  /** AS id; must not contain `|` (Synapse rejects it). */
  id: string;
  /** The homeserver's `server_name`, e.g. `example.org` or `localhost:8008`. */
  serverName: string;
  /** Users `@<userPrefix>…:<serverName>` belong to the AS (e.g. `_ferry_`). */
  userPrefix: string;
  /** Aliases `#<aliasPrefix>…:<serverName>` belong to the AS. */
  aliasPrefix: string;
  /** Localpart of the bot; it is also listed in the users namespace. */
  senderLocalpart: string;
  /** Applied to every namespace entry; see {@link Namespace.exclusive}. */
  exclusive: boolean;
  /**
   * Also claim every local user, non-exclusively, so ferry can write as existing accounts that
   * the identity mapping names (explicit lists, email matches, `matrixServers: local`).
   */
  claimLocalUsers?: boolean;
}

/** Escapes `text` for literal use inside a (Python or JavaScript) regular expression. */
export function escapeRegex(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\/-]/g, '\\$&');
}

function newToken(): string {
  return randomBytes(32).toString('hex');
}

/**
 * Builds a registration with fresh random 64-hex tokens, `url: null`, `rate_limited: false`,
 * and namespaces anchored to `serverName`:
 *   users:   `^@<userPrefix>.*:<server>$` and `^@<senderLocalpart>:<server>$`
 *   aliases: `^#<aliasPrefix>.*:<server>$`
 *   rooms:   none
 */
export function createRegistration(opts: CreateRegistrationOptions): Registration {
  if (opts.id.includes('|')) {
    throw new FerryError('config_invalid', `Application service id "${opts.id}" contains "|"`);
  }
  const server = escapeRegex(opts.serverName);
  return {
    id: opts.id,
    url: null,
    as_token: newToken(),
    hs_token: newToken(),
    sender_localpart: opts.senderLocalpart,
    rate_limited: false,
    namespaces: {
      users: [
        { regex: `^@${escapeRegex(opts.userPrefix)}.*:${server}$`, exclusive: opts.exclusive },
        {
          regex: `^@${escapeRegex(opts.senderLocalpart)}:${server}$`,
          exclusive: opts.exclusive,
        },
        // Existing accounts that identity mapping writes as (never exclusive: people log in there).
        ...(opts.claimLocalUsers === true ? [{ regex: `^@.*:${server}$`, exclusive: false }] : []),
      ],
      aliases: [
        { regex: `^#${escapeRegex(opts.aliasPrefix)}.*:${server}$`, exclusive: opts.exclusive },
      ],
      rooms: [],
    },
  };
}

/**
 * Writes `reg` as YAML to `path` with mode 0600 (the file holds both tokens). An existing file
 * is overwritten and its mode tightened to 0600.
 */
export async function writeRegistrationFile(path: string, reg: Registration): Promise<void> {
  await writeFile(path, stringify(reg), { encoding: 'utf8', mode: 0o600 });
  await chmod(path, 0o600);
}

const namespaceSchema = z.object({ regex: z.string().min(1), exclusive: z.boolean() });

const registrationSchema = z.object({
  id: z.string().min(1),
  url: z.string().nullable(),
  as_token: z.string().min(1),
  hs_token: z.string().min(1),
  sender_localpart: z.string().min(1),
  rate_limited: z.boolean().default(true),
  namespaces: z.object({
    users: z.array(namespaceSchema).default([]),
    aliases: z.array(namespaceSchema).default([]),
    rooms: z.array(namespaceSchema).default([]),
  }),
});

/**
 * Reads and validates a registration file. Unknown keys are dropped; a missing `rate_limited`
 * reads as `true` and missing namespace lists as empty, as in Synapse.
 *
 * @throws FerryError('input_not_found') if the file does not exist.
 * @throws FerryError('config_invalid') naming the file and the offending field if it is not
 *   valid YAML or not a valid registration. Messages never contain token values.
 */
export async function readRegistrationFile(path: string): Promise<Registration> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') {
      throw new FerryError('input_not_found', `Registration file ${path} does not exist`);
    }
    throw new FerryError('config_invalid', `Cannot read registration file ${path} (${code})`, {
      cause: e,
    });
  }

  let raw: unknown;
  try {
    raw = parse(text);
  } catch (e) {
    // The YAML parser's message may quote the offending line, which may hold a token:
    // report only the position.
    const pos = e instanceof Error && 'linePos' in e ? describeYamlPos(e.linePos) : '';
    throw new FerryError('config_invalid', `Registration file ${path} is not valid YAML${pos}`);
  }

  const result = registrationSchema.safeParse(raw);
  if (!result.success) {
    // zod issue messages describe types ("expected string, received undefined"), never the
    // received value, so they are safe to include.
    const problems = result.error.issues
      .map((i) => `${i.path.length > 0 ? i.path.join('.') : '(root)'}: ${i.message}`)
      .join('; ');
    throw new FerryError('config_invalid', `Registration file ${path} is invalid: ${problems}`);
  }
  return result.data;
}

function describeYamlPos(linePos: unknown): string {
  if (Array.isArray(linePos)) {
    const first: unknown = linePos[0];
    if (typeof first === 'object' && first !== null && 'line' in first) {
      return ` (line ${String(first.line)})`;
    }
  }
  return '';
}
