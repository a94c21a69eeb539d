import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { identityRules } from '../../src/mapping/identity-rules.js';
import { IdentityMapper } from '../../src/mapping/identity.js';
import { FerryError } from '../../src/errors.js';
import { userKey } from '../../src/model/index.js';
import { resolveIdentities, type IdentityInput } from '../../src/matrix/identity-resolver.js';

const mapper = (template?: string) =>
  new IdentityMapper({
    serverName: 'example.org',
    userPrefix: 'ferry_',
    aliasPrefix: 'ferry_',
    template,
  });
const slackUser = (id: string, handle?: string, email?: string): IdentityInput => ({
  key: userKey(`slack:${id}`),
  kind: 'slack',
  nativeId: id,
  handle,
  email,
});

describe('identity resolution', () => {
  it('applies explicit mappings (from config and CSV), then email matches, then local servers, then ghosts', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ferry-ids-'));
    const csv = join(dir, 'users.csv');
    writeFileSync(
      csv,
      'source,matrix\nU02CSV,@csv:example.org\n"carol@example.org","@carol:example.org"\n',
    );
    const rules = identityRules({
      users: { U01ALICE: '@alice:example.org' },
      usersCsv: csv,
      matchEmails: true,
      matrixServers: { 'old.example.net': 'local' },
    });
    const users: IdentityInput[] = [
      slackUser('U01ALICE'),
      slackUser('U02CSV'),
      slackUser('U03CAROL', 'carol', 'Carol@Example.org'),
      slackUser('U04DAN', 'dan', 'dan@example.org'),
      slackUser('U05EVE', 'eve'),
      {
        key: userKey('matrix:@frank:old.example.net'),
        kind: 'element',
        nativeId: '@frank:old.example.net',
      },
      { key: userKey('matrix:@gina:matrix.org'), kind: 'element', nativeId: '@gina:matrix.org' },
    ];
    const lookups: string[] = [];
    const resolved = await resolveIdentities(users, mapper(), rules, (email) => {
      lookups.push(email);
      return Promise.resolve(email === 'dan@example.org' ? '@daniel:example.org' : undefined);
    });
    const get = (k: string) => resolved.get(userKey(k));
    expect(get('slack:U01ALICE')).toEqual({ mxid: '@alice:example.org', origin: 'explicit' });
    expect(get('slack:U02CSV')).toEqual({ mxid: '@csv:example.org', origin: 'explicit' });
    expect(get('slack:U03CAROL')).toEqual({ mxid: '@carol:example.org', origin: 'explicit' });
    expect(get('slack:U04DAN')).toEqual({ mxid: '@daniel:example.org', origin: 'email' });
    expect(get('slack:U05EVE')).toEqual({
      mxid: '@ferry_slack_u05eve:example.org',
      origin: 'ghost',
    });
    expect(get('matrix:@frank:old.example.net')).toEqual({
      mxid: '@frank:example.org',
      origin: 'local',
    });
    expect(get('matrix:@gina:matrix.org')).toEqual({
      mxid: '@ferry_matrix_gina_matrix.org:example.org',
      origin: 'ghost',
    });
    expect(lookups.sort()).toEqual(['carol@example.org', 'dan@example.org']);
  });

  it('uses the localpart template, and falls back to the ID when two users would collide', async () => {
    const resolved = await resolveIdentities(
      [slackUser('U01', 'sam'), slackUser('U02', 'Sam'), slackUser('U03', 'kim')],
      mapper('slack_{name}'),
      identityRules({ userTemplate: 'slack_{name}' }),
    );
    expect(resolved.get(userKey('slack:U01'))?.mxid).toBe('@slack_sam:example.org');
    expect(resolved.get(userKey('slack:U02'))?.mxid).toBe('@ferry_slack_u02:example.org');
    expect(resolved.get(userKey('slack:U03'))?.mxid).toBe('@slack_kim:example.org');
  });

  it('rejects mappings that are not Matrix user IDs, naming where they came from', () => {
    expect(() => identityRules({ users: { U01: 'alice' } })).toThrow(FerryError);
    expect(() => identityRules({ users: { U01: 'alice' } })).toThrow(
      /identity\.users: "alice" \(for U01\)/,
    );
    expect(() => identityRules({ userTemplate: '{prefix}static' })).toThrow(
      /must contain \{id\} or \{name\}/,
    );
  });
});
