/**
 * Source identities → Matrix identifiers. Deterministic: the same store always maps to the
 * same ghost user IDs and room aliases, which is what makes provisioning idempotent (an alias
 * is the idempotency key of createRoom).
 *
 * Ghost localparts: `<userPrefix><source kind>_<native ID>`, lower-cased and restricted to the
 * spec's localpart grammar, e.g. `ferry_slack_u01alice`. Aliases: `#<aliasPrefix><kind>_<id>`.
 * The registration's namespaces are built from the same prefixes (src/matrix/registration.ts).
 */
import type { SourceKind } from '../model/index.js';

export interface IdentityOptions {
  serverName: string;
  /** Ghost localpart template (see identity-rules.ts); default `{prefix}{kind}_{id}`. */
  template?: string;
  /** Prefix of ghost localparts; must match the registration's user namespace. */
  userPrefix: string;
  /** Prefix of room alias localparts; must match the registration's alias namespace. */
  aliasPrefix: string;
}

/** Lower-cases and replaces anything outside the localpart grammar (`a-z0-9._=-/`) with `_`. */
export function sanitizeLocalpart(text: string): string {
  const lowered = text.normalize('NFKD').replace(/\p{M}/gu, '').toLowerCase();
  return lowered.replace(/[^a-z0-9._=/-]/g, '_').replace(/_+/g, '_');
}

/** Sources whose identifiers are the same kind of thing share a namespace. */
function namespaceOf(kind: SourceKind): 'slack' | 'matrix' {
  switch (kind) {
    case 'slack':
      return 'slack';
    case 'element':
    case 'matrix-archive':
    case 'matrix':
      return 'matrix';
  }
}

export class IdentityMapper {
  constructor(private readonly options: IdentityOptions) {}

  get serverName(): string {
    return this.options.serverName;
  }

  /**
   * Element exports and matrix-archive dumps name the same Matrix users, so both map into one
   * `matrix` namespace: `@alice:matrix.org` → `<prefix>matrix_alice_matrix.org`.
   */
  ghostLocalpart(kind: SourceKind, nativeId: string, handle?: string): string {
    const id = namespaceOf(kind) === 'matrix' ? nativeId.replace(/^@/, '') : nativeId;
    const template = this.options.template ?? '{prefix}{kind}_{id}';
    return template
      .replaceAll('{prefix}', this.options.userPrefix)
      .replaceAll('{kind}', namespaceOf(kind))
      .replaceAll('{id}', sanitizeLocalpart(id))
      .replaceAll('{name}', sanitizeLocalpart(handle ?? id));
  }

  ghostUserId(kind: SourceKind, nativeId: string, handle?: string): `@${string}:${string}` {
    return `@${this.ghostLocalpart(kind, nativeId, handle)}:${this.options.serverName}`;
  }

  /** The ghost ID from the default template, which is unique per source user. */
  uniqueGhostUserId(kind: SourceKind, nativeId: string): `@${string}:${string}` {
    const id = namespaceOf(kind) === 'matrix' ? nativeId.replace(/^@/, '') : nativeId;
    return `@${this.options.userPrefix}${namespaceOf(kind)}_${sanitizeLocalpart(id)}:${this.options.serverName}`;
  }

  aliasLocalpart(kind: SourceKind, nativeRoomId: string): string {
    const id = namespaceOf(kind) === 'matrix' ? nativeRoomId.replace(/^!/, '') : nativeRoomId;
    return `${this.options.aliasPrefix}${namespaceOf(kind)}_${sanitizeLocalpart(id)}`;
  }

  roomAlias(kind: SourceKind, nativeRoomId: string): `#${string}:${string}` {
    return `#${this.aliasLocalpart(kind, nativeRoomId)}:${this.options.serverName}`;
  }
}
