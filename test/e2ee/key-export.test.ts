import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { describe, expect, it } from 'vitest';

import { FerryError } from '../../src/errors.js';
import { decryptKeyExportText } from '../../src/e2ee/key-export.js';
import { loadRoomKeys, roomKeysPassphrase } from '../../src/e2ee/room-keys.js';
import { exportedSession, TestOutboundSession, writeKeyExport } from '../support/megolm-encoder.js';

const ROOM = '!room:example.org';
const PASS = 'correct horse battery staple';

function thrown(f: () => unknown): FerryError {
  try {
    f();
  } catch (e) {
    if (e instanceof FerryError) return e;
    throw e;
  }
  throw new Error('did not throw');
}

describe('key export files', () => {
  it('decrypts to the JSON array that was exported', () => {
    const sessions = [exportedSession(ROOM, new TestOutboundSession())];
    const text = decryptKeyExportText(writeKeyExport(sessions, PASS), PASS, 'keys.txt');
    expect(JSON.parse(text)).toEqual(sessions);
  });

  it('a wrong passphrase names the file and exits 2, without the passphrase', () => {
    const file = writeKeyExport([], PASS);
    const e = thrown(() => decryptKeyExportText(file, 'hunter2', 'element-keys.txt'));
    expect(e.exitCode).toBe(2);
    expect(e.message).toContain('element-keys.txt');
    expect(e.message).toContain('wrong passphrase');
    expect(e.message).not.toContain('hunter2');
    expect(e.message).not.toContain(PASS);
  });

  it('a damaged file, a missing armour and a newer version are clear errors', () => {
    const file = writeKeyExport([exportedSession(ROOM, new TestOutboundSession())], PASS);
    const lines = file.split('\n');
    const line = lines[2] as string;
    lines[2] = (line[0] === 'A' ? 'B' : 'A') + line.slice(1);
    expect(thrown(() => decryptKeyExportText(lines.join('\n'), PASS, 'k.txt')).message).toMatch(
      /^k\.txt: wrong passphrase .*or the file is damaged$/,
    );
    expect(thrown(() => decryptKeyExportText('{"not": "keys"}', PASS, 'k.txt')).message).toMatch(
      /^k\.txt: not a room key export/,
    );
    const body = Buffer.from(file.split('\n').slice(1, -2).join(''), 'base64');
    body[0] = 2;
    const v2 = `-----BEGIN MEGOLM SESSION DATA-----\n${body.toString('base64')}\n-----END MEGOLM SESSION DATA-----\n`;
    const e = thrown(() => decryptKeyExportText(v2, PASS, 'k.txt'));
    expect(e.message).toBe('k.txt: key export version 2 is not supported (only version 1)');
    expect(e.exitCode).toBe(2);
    const truncated = `-----BEGIN MEGOLM SESSION DATA-----\nAQID\n-----END MEGOLM SESSION DATA-----\n`;
    expect(thrown(() => decryptKeyExportText(truncated, PASS, 'k.txt')).message).toBe(
      'k.txt: the key data is too short',
    );
  });

  it('loadRoomKeys reads the file and counts usable sessions; the passphrase comes from the environment', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'ferry-keys-'));
    const path = join(dir, 'keys.txt');
    const entries = [
      exportedSession(ROOM, new TestOutboundSession()),
      { ...exportedSession(ROOM, new TestOutboundSession()), algorithm: 'm.megolm.v2.aes-sha2' },
    ];
    await writeFile(path, writeKeyExport(entries, PASS));
    const keys = await loadRoomKeys(path, PASS);
    expect(keys.sessionsInFile).toBe(2);
    expect(keys.sessionsUsable).toBe(1);
    expect(keys.skipped).toEqual({ unsupported_algorithm: 1 });
    await expect(loadRoomKeys(join(dir, 'missing.txt'), PASS)).rejects.toThrow(
      /missing\.txt: no such room key file/,
    );
    expect(roomKeysPassphrase({ FERRY_ROOM_KEYS_PASSPHRASE: PASS }, path)).toBe(PASS);
    expect(() => roomKeysPassphrase({}, path)).toThrow(/set \$FERRY_ROOM_KEYS_PASSPHRASE/);
  });
});
