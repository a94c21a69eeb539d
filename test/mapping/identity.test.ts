import { describe, expect, it } from 'vitest';
import { IdentityMapper, sanitizeLocalpart } from '../../src/mapping/identity.js';

describe('identity mapping', () => {
  const ids = new IdentityMapper({
    serverName: 'example.org',
    userPrefix: 'ferry_',
    aliasPrefix: 'ferry_',
  });

  it('builds stable ghost IDs and aliases from source IDs', () => {
    expect(ids.ghostUserId('slack', 'U01ALICE')).toBe('@ferry_slack_u01alice:example.org');
    expect(ids.roomAlias('slack', 'C01GENERAL')).toBe('#ferry_slack_c01general:example.org');
    expect(ids.ghostUserId('slack', 'U01ALICE')).toBe(ids.ghostUserId('slack', 'U01ALICE'));
  });

  it('maps Matrix users of Element and matrix-archive sources into one namespace', () => {
    expect(ids.ghostUserId('element', '@alice:matrix.org')).toBe(
      '@ferry_matrix_alice_matrix.org:example.org',
    );
    expect(ids.ghostUserId('matrix-archive', '@alice:matrix.org')).toBe(
      ids.ghostUserId('element', '@alice:matrix.org'),
    );
    expect(ids.roomAlias('element', '!abc:matrix.org')).toBe(
      '#ferry_matrix_abc_matrix.org:example.org',
    );
  });

  it('keeps localparts inside the grammar', () => {
    expect(sanitizeLocalpart('Zoë Ünicode!')).toBe('zoe_unicode_');
    expect(sanitizeLocalpart('@alice:matrix.org')).toBe('_alice_matrix.org');
    expect(/^[a-z0-9._=/-]+$/.test(sanitizeLocalpart('日本語 name'))).toBe(true);
  });
});
