/**
 * Optional enrichment of a Slack export through the Slack Web API, with a user or bot token:
 * what exports leave out (source-formats.md §1.4 emails, §1.8 custom emoji images).
 *
 * Contract:
 * - The token comes from the environment (`slackTokenFromEnv`, `$SLACK_TOKEN` by default),
 *   never from a command-line value that would land in shell history or `ps`.
 * - The token never appears in a log line, an error message or a returned value. The
 *   `WebClient`'s own log lines go through `redactText` into our `Logger` (debug level, except
 *   warnings and errors), and its errors are rethrown as `FerryError`s without the original
 *   error attached (axios errors carry the request headers, so the token).
 * - Errors:
 *   - Slack refused the token (`invalid_auth`, `not_authed`, `account_inactive`,
 *     `token_revoked`, `token_expired`) → `config_invalid`, "Slack rejected the token (<code>)";
 *   - a missing scope (`missing_scope`) → `config_invalid` naming the method and the scope;
 *   - any other `ok: false` → `input_unsupported` naming the method and Slack's error code;
 *   - network failures and HTTP errors (after `@slack/web-api`'s retries) → `homeserver_error`
 *     (retryable) naming the method: ferry's "a remote server failed" code.
 * - Rate limits (429 + `Retry-After`) are waited out by `@slack/web-api` itself and retried per
 *   `retryConfig`.
 *
 * Scopes: `users:read` + `users:read.email` (emails), `emoji:read` (custom emoji),
 * `files:read` (authenticated downloads, done elsewhere).
 */
import {
  ErrorCode,
  type EmojiListArguments,
  LogLevel,
  WebClient,
  type Logger as SlackLogger,
  type RetryOptions,
} from '@slack/web-api';
import { FerryError } from '../../../errors.js';
import type { Logger } from '../../../logger.js';
import { silentLogger } from '../../../logger.js';
import { redactText } from '../../../redact.js';

export const DEFAULT_SLACK_API_URL = 'https://slack.com/api/';
export const DEFAULT_TOKEN_ENV = 'SLACK_TOKEN';

/** Waits out rate limits (Retry-After) and network blips, but gives up within minutes. */
export const DEFAULT_RETRY_CONFIG: RetryOptions = {
  retries: 6,
  factor: 2,
  minTimeout: 1_000,
  maxTimeout: 30_000,
  randomize: true,
};

export interface SlackEnricherOptions {
  token: string;
  /** Web API base URL, ending with `/` (default `https://slack.com/api/`); tests point it at a stand-in. */
  slackApiUrl?: string;
  logger?: Logger;
  /** `@slack/web-api` retry policy (p-retry options); tests make it small. */
  retryConfig?: RetryOptions;
  /** `users.list` page size (Slack recommends ≤ 200; default 200). */
  pageSize?: number;
  /** Per-request timeout in ms (default 30 s). */
  timeoutMs?: number;
}

/** Who the token belongs to (`auth.test`). */
export interface SlackTokenIdentity {
  teamId: string;
  /** Grid: the organisation's ID, which is also a possible workspace ID of an org export. */
  enterpriseId?: string;
  teamName?: string;
  userId?: string;
  /**
   * An org-wide install on Enterprise Grid: `teamId` is then the org's `E…` ID, and methods
   * that act on a workspace (`users.list`) need a `team_id` (`workspaces()` lists them).
   */
  orgInstall: boolean;
}

/**
 * The `team_id` to pass to `emoji.list`: none outside Enterprise Grid; the token's own
 * workspace for a workspace token of a Grid org; for an org-wide install (whose `teamId` is the
 * org), the export's workspace when the app is approved there, else the first approved one
 * (Grid custom emoji are shared by the org's workspaces). `workspaces`: `auth.teams.list`.
 */
export function emojiTeam(
  who: SlackTokenIdentity,
  exportWorkspace: string,
  workspaces: readonly string[] = [],
): string | undefined {
  if (!who.orgInstall) return who.enterpriseId === undefined ? undefined : who.teamId;
  return workspaces.includes(exportWorkspace) ? exportWorkspace : workspaces[0];
}

/** What `users.list` knows about one user that an export may lack. */
export type { SlackCustomEmoji, SlackUserContact } from '../../../model/slack-enrichment.js';
import type { SlackCustomEmoji, SlackUserContact } from '../../../model/slack-enrichment.js';

/** Reads the token from `process.env[name]`; `config_invalid` when unset or empty. */
export function slackTokenFromEnv(
  name: string = DEFAULT_TOKEN_ENV,
  env: NodeJS.ProcessEnv = process.env,
): string {
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) {
    throw new FerryError(
      'config_invalid',
      `--token-env expects a variable name (got an invalid one)`,
    );
  }
  const token = env[name]?.trim();
  if (token === undefined || token === '') {
    throw new FerryError(
      'config_invalid',
      `no Slack token: set $${name} to a user or bot token (scopes users:read, users:read.email, emoji:read)`,
    );
  }
  return token;
}

const TOKEN_ERRORS = new Set([
  'invalid_auth',
  'not_authed',
  'account_inactive',
  'token_revoked',
  'token_expired',
  'not_allowed_token_type',
]);

export class SlackEnricher {
  readonly #client: WebClient;
  readonly #logger: Logger;
  readonly #pageSize: number;
  readonly #token: string;

  constructor(opts: SlackEnricherOptions) {
    this.#token = opts.token;
    this.#logger = opts.logger ?? silentLogger;
    this.#pageSize = opts.pageSize ?? 200;
    this.#client = new WebClient(opts.token, {
      slackApiUrl: opts.slackApiUrl ?? DEFAULT_SLACK_API_URL,
      logger: slackLogger(this.#logger, opts.token),
      logLevel: LogLevel.DEBUG,
      retryConfig: opts.retryConfig ?? DEFAULT_RETRY_CONFIG,
      timeout: opts.timeoutMs ?? 30_000,
    });
  }

  /** `auth.test`: checks the token and tells which workspace it belongs to. */
  async identity(): Promise<SlackTokenIdentity> {
    const r = await this.#call('auth.test', () => this.#client.auth.test());
    return {
      teamId: r.team_id ?? '',
      enterpriseId: nonEmpty(r.enterprise_id),
      teamName: nonEmpty(r.team),
      userId: nonEmpty(r.user_id),
      orgInstall: r.is_enterprise_install === true,
    };
  }

  /** `auth.teams.list` (org-wide installs): the IDs of the workspaces the app may read. */
  async workspaces(): Promise<string[]> {
    const ids: string[] = [];
    let cursor: string | undefined;
    do {
      const page = await this.#call('auth.teams.list', () =>
        this.#client.auth.teams.list({ limit: this.#pageSize, cursor }),
      );
      for (const team of page.teams ?? []) {
        const id = nonEmpty(team.id);
        if (id !== undefined && !ids.includes(id)) ids.push(id);
      }
      cursor = nonEmpty(page.response_metadata?.next_cursor);
    } while (cursor !== undefined);
    return ids;
  }

  /**
   * Pages through `users.list` (cursor pagination) → user ID → email / real name, once per
   * workspace in `teamIds` (an org-wide token must name one) or once for the token's own
   * workspace. Users without either (bots, missing `users:read.email`) are left out.
   */
  async fetchEmails(teamIds?: readonly string[]): Promise<Map<string, SlackUserContact>> {
    const out = new Map<string, SlackUserContact>();
    let pages = 0;
    for (const teamId of teamIds ?? [undefined]) {
      let cursor: string | undefined;
      do {
        const page = await this.#call('users.list', () =>
          this.#client.users.list({
            limit: this.#pageSize,
            cursor,
            ...(teamId === undefined ? {} : { team_id: teamId }),
          }),
        );
        pages += 1;
        for (const m of page.members ?? []) {
          if (m.id === undefined) continue;
          const email = nonEmpty(m.profile?.email);
          const realName = nonEmpty(m.profile?.real_name) ?? nonEmpty(m.real_name);
          if (email !== undefined || realName !== undefined) out.set(m.id, { email, realName });
        }
        cursor = nonEmpty(page.response_metadata?.next_cursor);
      } while (cursor !== undefined);
    }
    this.#logger.debug({ pages, users: out.size }, 'slack users listed');
    return out;
  }

  /**
   * `emoji.list` → custom emoji with `alias:` chains resolved. `teamId`: the workspace to list,
   * needed on Enterprise Grid (`emojiTeam`), as the slack-api source passes it.
   */
  async fetchCustomEmoji(teamId?: string): Promise<SlackCustomEmoji> {
    // EmojiListArguments does not declare team_id; Grid tokens need it all the same.
    const args: EmojiListArguments & { team_id?: string } =
      teamId === undefined ? {} : { team_id: teamId };
    const r = await this.#call('emoji.list', () => this.#client.emoji.list(args));
    const resolved = resolveEmojiAliases(r.emoji ?? {});
    if (resolved.broken.length > 0)
      this.#logger.warn({ names: resolved.broken }, 'custom emoji aliases that lead nowhere');
    return resolved;
  }

  async #call<T>(method: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (e) {
      const error = slackError(method, e);
      if (!error.message.includes(this.#token)) throw error;
      throw new FerryError(error.code, error.message.split(this.#token).join('REDACTED'), {
        retryable: error.retryable,
      });
    }
  }
}

/**
 * Resolves `alias:<name>` entries of an `emoji.list` map. An alias of a custom emoji gets that
 * emoji's URL (following chains); an alias of a name that is not custom is taken to be a
 * standard emoji; a loop is broken.
 */
export function resolveEmojiAliases(raw: Readonly<Record<string, string>>): SlackCustomEmoji {
  const images = new Map<string, string>();
  const standardAliases = new Map<string, string>();
  const broken: string[] = [];
  for (const name of Object.keys(raw).sort()) {
    const seen = new Set<string>([name]);
    let value = raw[name] ?? '';
    let target = name;
    while (value.startsWith('alias:')) {
      target = value.slice('alias:'.length);
      if (seen.has(target)) break;
      seen.add(target);
      const next = raw[target];
      if (next === undefined) break;
      value = next;
    }
    if (!value.startsWith('alias:')) {
      if (/^https?:\/\//.test(value)) images.set(name, value);
      else broken.push(name);
    } else if (raw[target] === undefined && target !== '') {
      standardAliases.set(name, target);
    } else {
      broken.push(name);
    }
  }
  return { images, standardAliases, broken };
}

/** Turns anything `@slack/web-api` throws into a `FerryError` that holds no secret. */
function slackError(method: string, e: unknown): FerryError {
  const err = e as {
    code?: unknown;
    data?: { error?: unknown; needed?: unknown };
    statusCode?: unknown;
  };
  if (err.code === ErrorCode.PlatformError) {
    const code = typeof err.data?.error === 'string' ? err.data.error : 'unknown_error';
    if (TOKEN_ERRORS.has(code))
      return new FerryError('config_invalid', `Slack rejected the token (${code})`);
    if (code === 'missing_scope') {
      const needed = typeof err.data?.needed === 'string' ? ` (needs ${err.data.needed})` : '';
      return new FerryError(
        'config_invalid',
        `Slack ${method}: the token lacks a scope${redactText(needed)}`,
      );
    }
    return new FerryError('input_unsupported', `Slack ${method} failed: ${redactText(code)}`);
  }
  if (err.code === ErrorCode.HTTPError) {
    const status = typeof err.statusCode === 'number' ? ` (HTTP ${err.statusCode})` : '';
    return new FerryError('homeserver_error', `Slack ${method} failed${status}`, {
      retryable: true,
    });
  }
  if (err.code === ErrorCode.RateLimitedError) {
    return new FerryError('homeserver_error', `Slack ${method}: still rate limited after retries`, {
      retryable: true,
    });
  }
  const message = e instanceof Error ? e.message : String(e);
  return new FerryError(
    'homeserver_error',
    `cannot reach the Slack API for ${method}: ${redactText(message)}`,
    { retryable: true },
  );
}

/** `@slack/web-api`'s logger contract, forwarded (redacted) into ours. */
export function slackLogger(logger: Logger, token: string): SlackLogger {
  let level = LogLevel.DEBUG;
  // Belt and braces: tokens that do not look like `xox…` are removed literally too.
  const text = (msg: unknown[]): string =>
    redactText(
      msg
        .map((m) => (typeof m === 'string' ? m : safeJson(m)))
        .join(' ')
        .replace(RESULT_LINE, '$1 (omitted)'),
    )
      .split(token)
      .join('REDACTED');
  return {
    debug: (...msg: unknown[]) => logger.debug({ component: 'slack-web-api' }, text(msg)),
    info: (...msg: unknown[]) => logger.debug({ component: 'slack-web-api' }, text(msg)),
    warn: (...msg: unknown[]) => logger.warn({ component: 'slack-web-api' }, text(msg)),
    error: (...msg: unknown[]) => logger.error({ component: 'slack-web-api' }, text(msg)),
    setLevel: (l: LogLevel) => {
      level = l;
    },
    getLevel: () => level,
    setName: () => undefined,
  };
}

/** Response bodies (user lists with emails, thousands of emoji) stay out of the log. */
const RESULT_LINE = /^(http request result:)[\s\S]*$/;

function safeJson(v: unknown): string {
  if (v instanceof Error) return v.message;
  try {
    return JSON.stringify(v) ?? String(v);
  } catch {
    return String(v);
  }
}

const nonEmpty = (s: string | undefined | null): string | undefined =>
  s === undefined || s === null || s.trim() === '' ? undefined : s;
