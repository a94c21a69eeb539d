import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { describe, expect, it } from 'vitest';

import { exportedSession, TestOutboundSession, writeKeyExport } from '../support/megolm-encoder.js';
import { runCli } from '../support/run-cli.js';

const ROOM = '!vault:example.org';
const PASS = 'export passphrase';

/** An Element export whose history holds two decryptable events and one of a session not exported. */
function encryptedElementExport(dir: string): { exportPath: string; keysPath: string } {
  const exported = new TestOutboundSession();
  const missing = new TestOutboundSession();
  // Exported at index 0, before it sends: an export taken later could not open these messages.
  const keys = writeKeyExport([exportedSession(ROOM, exported)], PASS);
  const event = (id: string, ts: number, content: Record<string, unknown>) => ({
    type: 'm.room.encrypted',
    room_id: ROOM,
    sender: '@alice:example.org',
    content,
    origin_server_ts: ts,
    unsigned: {},
    event_id: id,
  });
  const messages = [
    {
      type: 'm.room.create',
      room_id: ROOM,
      sender: '@alice:example.org',
      content: { creator: '@alice:example.org', room_version: '10' },
      state_key: '',
      origin_server_ts: 1714557600000,
      unsigned: {},
      event_id: '$create',
    },
    event(
      '$e1',
      1714557601000,
      exported.encryptEvent(ROOM, 'm.room.message', { msgtype: 'm.text', body: 'one' }),
    ),
    event(
      '$e2',
      1714557602000,
      missing.encryptEvent(ROOM, 'm.room.message', { msgtype: 'm.text', body: 'lost' }),
    ),
    event(
      '$e3',
      1714557603000,
      exported.encryptEvent(ROOM, 'm.room.message', { msgtype: 'm.text', body: 'two' }),
    ),
  ];
  const exportPath = join(dir, 'matrix - Vault - Chat Export.json');
  writeFileSync(
    exportPath,
    JSON.stringify({
      room_name: 'Vault',
      topic: '',
      export_date: '01/05/2024',
      exported_by: 'Alice',
      messages,
    }),
  );
  const keysPath = join(dir, 'element-keys.txt');
  writeFileSync(keysPath, keys);
  return { exportPath, keysPath };
}

describe('--room-keys on Element exports', () => {
  it('check decrypts what the keys open and counts the rest per room', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ferry-room-keys-'));
    const { exportPath, keysPath } = encryptedElementExport(dir);
    const r = await runCli(
      ['check', '--kind', 'element', exportPath, '--room-keys', keysPath, '--json'],
      {
        FERRY_ROOM_KEYS_PASSPHRASE: PASS,
      },
    );
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const s = JSON.parse(r.stdout) as Record<string, unknown>;
    expect(s['events']).toMatchObject({ message: 2 });
    expect(s['undecryptable']).toEqual({ [`matrix:${ROOM}`]: { no_key: 1 } });
    expect(s['room_keys']).toMatchObject({
      sessions_usable: 1,
      events: { decrypted: 2, no_key: 1, failed: 0 },
    });

    const text = await runCli(['check', '--kind', 'element', exportPath, '--room-keys', keysPath], {
      FERRY_ROOM_KEYS_PASSPHRASE: PASS,
    });
    expect(text.stdout).toContain('encrypted events: 2 decrypted, 1 without a key, 0 failed');
  });

  it('without --room-keys the events are counted as no_decryptor and room_keys is null', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ferry-room-keys-'));
    const { exportPath } = encryptedElementExport(dir);
    const r = await runCli(['check', '--kind', 'element', exportPath, '--json']);
    const s = JSON.parse(r.stdout) as Record<string, unknown>;
    expect(s['undecryptable']).toEqual({ [`matrix:${ROOM}`]: { no_decryptor: 3 } });
    expect(s['room_keys']).toBeNull();
  });

  it('a damaged key file exits 2 naming it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ferry-room-keys-'));
    const { exportPath } = encryptedElementExport(dir);
    const bad = join(dir, 'bad-keys.txt');
    writeFileSync(bad, 'not a key file');
    const r = await runCli(['check', '--kind', 'element', exportPath, '--room-keys', bad], {
      FERRY_ROOM_KEYS_PASSPHRASE: PASS,
    });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('bad-keys.txt: not a room key export');
    expect(r.stderr).not.toContain(PASS);
  });
});
