/**
 * Applies the identity rules (src/mapping/identity-rules.ts) to every user of the store:
 * each source user gets exactly one Matrix ID and the reason for it.
 */
import pLimit from 'p-limit';
import type { IdentityOrigin, IdentityRules } from '../mapping/identity-rules.js';
import type { IdentityMapper } from '../mapping/identity.js';
import type { SourceKind, UserKey } from '../model/index.js';
import type { MatrixClient } from './client.js';
import { isStatus } from './client-errors.js';

export interface IdentityInput {
  key: UserKey;
  kind: SourceKind;
  nativeId: string;
  handle?: string;
  email?: string;
}

export interface ResolvedIdentity {
  mxid: `@${string}:${string}`;
  origin: IdentityOrigin;
}

/** Looks up an existing account by email (Synapse admin API); undefined when there is none. */
export type EmailLookup = (email: string) => Promise<string | undefined>;

export function synapseEmailLookup(client: MatrixClient, adminToken: string): EmailLookup {
  return async (email) => {
    try {
      const body = (await client.adminRequest(
        'GET',
        `/_synapse/admin/v1/threepid/email/users/${encodeURIComponent(email)}`,
        undefined,
        adminToken,
      )) as { user_id?: unknown };
      return typeof body.user_id === 'string' ? body.user_id : undefined;
    } catch (e) {
      if (isStatus(e, 404)) return undefined;
      throw e;
    }
  };
}

export async function resolveIdentities(
  users: readonly IdentityInput[],
  identity: IdentityMapper,
  rules: IdentityRules,
  lookupEmail?: EmailLookup,
): Promise<Map<UserKey, ResolvedIdentity>> {
  const out = new Map<UserKey, ResolvedIdentity>();
  const emailMatches = new Map<string, string>();
  if (rules.matchEmails && lookupEmail !== undefined) {
    const limit = pLimit(8);
    const emails = [
      ...new Set(
        users.map((u) => u.email?.toLowerCase()).filter((e): e is string => e !== undefined),
      ),
    ];
    await Promise.all(
      emails.map((email) =>
        limit(async () => {
          const mxid = await lookupEmail(email);
          if (mxid !== undefined) emailMatches.set(email, mxid);
        }),
      ),
    );
  }
  const taken = new Set<string>();
  // Sorted, so template collisions are settled the same way on every run.
  for (const u of [...users].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0))) {
    const resolved = resolveOne(u, identity, rules, emailMatches);
    if (resolved.origin === 'ghost' && taken.has(resolved.mxid)) {
      resolved.mxid = identity.uniqueGhostUserId(u.kind, u.nativeId);
    }
    taken.add(resolved.mxid);
    out.set(u.key, resolved);
  }
  return out;
}

function resolveOne(
  u: IdentityInput,
  identity: IdentityMapper,
  rules: IdentityRules,
  emailMatches: ReadonlyMap<string, string>,
): ResolvedIdentity {
  const email = u.email?.toLowerCase();
  const explicit =
    rules.explicit.get(u.nativeId) ?? (email === undefined ? undefined : rules.explicit.get(email));
  if (explicit !== undefined)
    return { mxid: explicit as `@${string}:${string}`, origin: 'explicit' };
  const byEmail = email === undefined ? undefined : emailMatches.get(email);
  if (byEmail !== undefined) return { mxid: byEmail as `@${string}:${string}`, origin: 'email' };
  if (u.kind !== 'slack') {
    const match = /^@([^:]+):(.+)$/.exec(u.nativeId);
    if (match?.[1] !== undefined && match[2] !== undefined) {
      if (match[2] === identity.serverName)
        return { mxid: u.nativeId as `@${string}:${string}`, origin: 'local' };
      if (rules.localServers.has(match[2]))
        return { mxid: `@${match[1]}:${identity.serverName}`, origin: 'local' };
    }
  }
  return { mxid: identity.ghostUserId(u.kind, u.nativeId, u.handle), origin: 'ghost' };
}
