/**
 * How source users become Matrix users, as the config states it. Resolution order for one
 * user (first match wins):
 *
 * 1. an explicit mapping (config `identity.users` or the CSV), keyed by the source's native ID
 *    (`U01ALICE`, `@alice:matrix.org`) or by the user's email;
 * 2. an existing account with the same email (admin API, when `identity.matchEmails` is on);
 * 3. for Matrix-origin users of a server listed as `local` in `identity.matrixServers`: the same
 *    localpart on this homeserver (`@alice:matrix.org` → `@alice:example.org`);
 * 4. a ghost from the localpart template.
 *
 * Mapped (non-ghost) accounts are never registered or changed by ferry; the appservice must be
 * allowed to act as them (`ferry registration --claim-local-users`).
 */
import { readFileSync } from 'node:fs';
import { FerryError } from '../errors.js';

export type IdentityOrigin = 'explicit' | 'email' | 'local' | 'ghost';

export interface IdentityRules {
  /** Native ID or email (lower-cased) → Matrix user ID. */
  explicit: ReadonlyMap<string, string>;
  matchEmails: boolean;
  /** Remote Matrix server names whose users are the same people as our local accounts. */
  localServers: ReadonlySet<string>;
  /**
   * Ghost localpart template. `{prefix}` the configured user prefix, `{kind}` the namespace
   * (`slack`, `matrix`), `{id}` the native ID, `{name}` the source handle (falls back to the ID).
   */
  template: string;
}

export const DEFAULT_TEMPLATE = '{prefix}{kind}_{id}';
const MXID = /^@[^:\s]+:[^\s]+$/;

export function identityRules(input: {
  users?: Record<string, string>;
  usersCsv?: string;
  matchEmails?: boolean;
  matrixServers?: Record<string, 'local' | 'ghost'>;
  userTemplate?: string;
}): IdentityRules {
  const explicit = new Map<string, string>();
  const add = (from: string, to: string, where: string) => {
    if (!MXID.test(to)) {
      throw new FerryError(
        'config_invalid',
        `${where}: "${to}" (for ${from}) is not a Matrix user ID like @name:server`,
      );
    }
    explicit.set(from.includes('@') && !from.startsWith('@') ? from.toLowerCase() : from, to);
  };
  for (const [from, to] of Object.entries(input.users ?? {})) add(from, to, 'identity.users');
  if (input.usersCsv !== undefined) {
    let text: string;
    try {
      text = readFileSync(input.usersCsv, 'utf8');
    } catch {
      throw new FerryError('input_not_found', `${input.usersCsv}: cannot read the identity CSV`);
    }
    text.split(/\r?\n/).forEach((line, i) => {
      const cells = line.split(',').map((c) => c.trim().replace(/^"(.*)"$/, '$1'));
      if (cells.length < 2 || cells[0] === '' || (i === 0 && !MXID.test(cells[1] ?? ''))) return; // blank or header
      add(cells[0]!, cells[1]!, `${input.usersCsv} line ${i + 1}`);
    });
  }
  const template = input.userTemplate ?? DEFAULT_TEMPLATE;
  if (!template.includes('{id}') && !template.includes('{name}')) {
    throw new FerryError('config_invalid', 'identity.userTemplate must contain {id} or {name}');
  }
  return {
    explicit,
    matchEmails: input.matchEmails ?? false,
    localServers: new Set(
      Object.entries(input.matrixServers ?? {})
        .filter(([, v]) => v === 'local')
        .map(([k]) => k),
    ),
    template,
  };
}
