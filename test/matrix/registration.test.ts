import { chmod, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';

import { FerryError } from '../../src/errors.js';
import {
  createRegistration,
  readRegistrationFile,
  writeRegistrationFile,
  type CreateRegistrationOptions,
} from '../../src/matrix/registration.js';

const OPTS: CreateRegistrationOptions = {
  id: 'ferry-test',
  serverName: 'ferry.test',
  userPrefix: '_ferry_',
  aliasPrefix: '_ferry_',
  senderLocalpart: '_ferry_bot',
  exclusive: true,
};

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ferry-registration-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('createRegistration', () => {
  it('fills in the fixed fields', () => {
    const reg = createRegistration(OPTS);
    expect(reg).toMatchObject({
      id: 'ferry-test',
      url: null,
      rate_limited: false,
      sender_localpart: '_ferry_bot',
      namespaces: { rooms: [] },
    });
  });

  it('makes random 64-hex tokens that differ per call and from each other', () => {
    const a = createRegistration(OPTS);
    const b = createRegistration(OPTS);
    for (const t of [a.as_token, a.hs_token, b.as_token, b.hs_token]) {
      expect(t).toMatch(/^[0-9a-f]{64}$/);
    }
    expect(new Set([a.as_token, a.hs_token, b.as_token, b.hs_token]).size).toBe(4);
  });

  it('anchors the namespaces to the escaped server name', () => {
    const reg = createRegistration(OPTS);
    const users = reg.namespaces.users.map((n) => new RegExp(n.regex));
    const isUser = (id: string) => users.some((r) => r.test(id));
    expect(isUser('@_ferry_alice:ferry.test')).toBe(true);
    expect(isUser('@_ferry_bot:ferry.test')).toBe(true);
    expect(isUser('@admin:ferry.test')).toBe(false);
    expect(isUser('@_ferry_alice:evil.test')).toBe(false);
    expect(isUser('@_ferry_alice:ferryxtest')).toBe(false); // dot is escaped
    expect(isUser('@_ferry_alice:ferry.test.evil')).toBe(false); // end anchor
    expect(isUser('x@_ferry_alice:ferry.test')).toBe(false); // start anchor

    const alias = new RegExp(reg.namespaces.aliases[0]!.regex);
    expect(alias.test('#_ferry_general:ferry.test')).toBe(true);
    expect(alias.test('#general:ferry.test')).toBe(false);
    expect(alias.test('#_ferry_general:evil.test')).toBe(false);
    for (const n of [...reg.namespaces.users, ...reg.namespaces.aliases]) {
      expect(n.exclusive).toBe(true);
    }
    expect(createRegistration({ ...OPTS, exclusive: false }).namespaces.users[0]!.exclusive).toBe(
      false,
    );
  });

  it('escapes a server name with a port', () => {
    const reg = createRegistration({ ...OPTS, serverName: 'localhost:8008' });
    const users = new RegExp(reg.namespaces.users[0]!.regex);
    expect(users.test('@_ferry_a:localhost:8008')).toBe(true);
    expect(users.test('@_ferry_a:localhost:80080')).toBe(false);
  });
});

describe('writeRegistrationFile / readRegistrationFile', () => {
  it('writes YAML with mode 0600 that reads back unchanged', async () => {
    const path = join(dir, 'reg.yaml');
    const reg = createRegistration(OPTS);
    await writeRegistrationFile(path, reg);
    expect((await stat(path)).mode & 0o777).toBe(0o600);
    expect(parse(await readFile(path, 'utf8'))).toEqual(reg);
    expect(await readRegistrationFile(path)).toEqual(reg);
  });

  it('tightens an existing file with a wider mode', async () => {
    const path = join(dir, 'wide.yaml');
    await writeFile(path, 'old', { mode: 0o644 });
    await chmod(path, 0o644);
    await writeRegistrationFile(path, createRegistration(OPTS));
    expect((await stat(path)).mode & 0o777).toBe(0o600);
  });

  it('rejects a file missing as_token, naming the file and field but no token', async () => {
    const path = join(dir, 'no-as-token.yaml');
    const reg = createRegistration(OPTS);
    const text = (await readFile(await written(reg), 'utf8'))
      .split('\n')
      .filter((l) => !l.startsWith('as_token:'))
      .join('\n');
    await writeFile(path, text);

    const error = await readRegistrationFile(path).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(FerryError);
    const fe = error as FerryError;
    expect(fe.code).toBe('config_invalid');
    expect(fe.message).toContain(path);
    expect(fe.message).toContain('as_token');
    expect(fe.message).not.toContain(reg.as_token);
    expect(fe.message).not.toContain(reg.hs_token);
  });

  it('never echoes a token whose type is wrong or whose YAML is broken', async () => {
    const reg = createRegistration(OPTS);
    const wrongType = join(dir, 'wrong-type.yaml');
    await writeFile(wrongType, stringify({ ...reg, rate_limited: reg.hs_token }));
    const broken = join(dir, 'broken.yaml');
    await writeFile(broken, `as_token: ${reg.as_token}\nhs_token: [${reg.hs_token}\n`);

    for (const [path, field] of [
      [wrongType, 'rate_limited'],
      [broken, ''],
    ] as const) {
      const error = await readRegistrationFile(path).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(FerryError);
      const fe = error as FerryError;
      expect(fe.code).toBe('config_invalid');
      expect(fe.message).toContain(path);
      expect(fe.message).toContain(field);
      expect(fe.message).not.toContain(reg.as_token);
      expect(fe.message).not.toContain(reg.hs_token);
    }
  });

  it('reports a missing file as input_not_found', async () => {
    await expect(readRegistrationFile(join(dir, 'nope.yaml'))).rejects.toMatchObject({
      code: 'input_not_found',
    });
  });
});

let counter = 0;
async function written(reg: ReturnType<typeof createRegistration>): Promise<string> {
  const path = join(dir, `src-${counter++}.yaml`);
  await writeRegistrationFile(path, reg);
  return path;
}
