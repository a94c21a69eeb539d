/**
 * Encrypted history made by a real E2EE client (the rust crypto stack Element uses) on a real
 * Synapse, read back over the client-server API, and opened with ferry's decryptor and a key
 * export the client wrote itself.
 */
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { decryptAttachment, parseEncryptedFile } from '../../src/e2ee/encrypted-attachment.js';
import { loadRoomKeys } from '../../src/e2ee/room-keys.js';
import { E2eeClient } from '../support/e2ee-client.js';
import { runCli } from '../support/run-cli.js';
import { startSynapse, type SynapseHandle } from '../support/synapse.js';

const PASS = 'a passphrase the client chose';

describe('history from a real E2EE client', () => {
  let synapse: SynapseHandle;
  let client: E2eeClient;
  let roomId: string;
  let keyFile: string;
  const sent: { eventId: string; type: string; content: Record<string, unknown> }[] = [];
  const image = randomBytes(50_000);

  beforeAll(async () => {
    synapse = await startSynapse();
    client = await E2eeClient.register({
      baseUrl: synapse.baseUrl,
      asToken: synapse.registration.as_token,
      localpart: '_ferry_e2ee_alice',
      serverName: synapse.serverName,
    });
    roomId = await client.createEncryptedRoom('secret plans');
    // Seven messages with a rotation every 3: sessions of 3, 3 and 1 messages.
    for (let i = 0; i < 6; i++) {
      const content = { msgtype: 'm.text', body: `secret ${i}`, 'm.mentions': {} };
      sent.push({
        eventId: await client.sendEncrypted(roomId, 'm.room.message', content, 3),
        type: 'm.room.message',
        content,
      });
    }
    const file = await client.uploadEncrypted(image);
    const imageContent = {
      msgtype: 'm.image',
      body: 'plan.png',
      info: { mimetype: 'image/png', size: image.length },
      file,
    };
    sent.push({
      eventId: await client.sendEncrypted(roomId, 'm.room.message', imageContent, 3),
      type: 'm.room.message',
      content: imageContent,
    });
  });

  afterAll(async () => {
    client?.close();
    await synapse?.stop();
  });

  it('decrypts every event to what the client sent, and the image to its bytes', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'ferry-e2ee-'));
    keyFile = join(dir, 'element-keys.txt');
    await writeFile(keyFile, await client.exportRoomKeys(PASS, () => true));
    const keys = await loadRoomKeys(keyFile, PASS);
    expect(keys.sessionsUsable).toBe(3);

    const encrypted = (await client.timeline(roomId)).filter(
      (e) => e['type'] === 'm.room.encrypted',
    );
    expect(encrypted.map((e) => e['event_id'])).toEqual(sent.map((s) => s.eventId));
    for (const [i, e] of encrypted.entries()) {
      const out = keys.decryptor.decryptEvent({
        room_id: roomId,
        content: e['content'],
        event_id: e['event_id'] as string,
      });
      expect(out).toEqual({ kind: 'decrypted', type: sent[i]?.type, content: sent[i]?.content });
    }
    const imageEvent = sent[6]?.content as { file: Record<string, unknown> };
    const info = parseEncryptedFile(imageEvent.file);
    if (typeof info === 'string') throw new Error(info);
    const result = decryptAttachment(info, await client.download(info.url));
    expect(result.ok && result.bytes.equals(image)).toBe(true);
  });

  it('events of a session left out of the export are no_key; a tampered ciphertext fails', async () => {
    const encrypted = (await client.timeline(roomId)).filter(
      (e) => e['type'] === 'm.room.encrypted',
    );
    const lastSession = (encrypted.at(-1)?.['content'] as { session_id: string }).session_id;
    const armoured = await client.exportRoomKeys(PASS, (id) => id !== lastSession);
    const dir = await mkdtemp(join(tmpdir(), 'ferry-e2ee-'));
    await writeFile(join(dir, 'partial.txt'), armoured);
    const keys = await loadRoomKeys(join(dir, 'partial.txt'), PASS);
    const kinds = encrypted.map(
      (e) => keys.decryptor.decryptEvent({ room_id: roomId, content: e['content'] }).kind,
    );
    expect(kinds).toEqual([
      'decrypted',
      'decrypted',
      'decrypted',
      'decrypted',
      'decrypted',
      'decrypted',
      'no_key',
    ]);
    expect(encrypted.at(-1)?.['event_id']).toBe(sent[6]?.eventId);

    const content = encrypted[1]?.['content'] as Record<string, string>;
    const bytes = Buffer.from(content['ciphertext'] as string, 'base64');
    bytes[bytes.length - 80] = (bytes[bytes.length - 80] as number) ^ 0x40;
    const tampered = { ...content, ciphertext: bytes.toString('base64').replace(/=+$/, '') };
    expect(keys.decryptor.decryptEvent({ room_id: roomId, content: tampered }).kind).toBe('failed');
  });

  it('a wrong passphrase is a clear error naming the file', async () => {
    await expect(loadRoomKeys(keyFile, 'not it')).rejects.toThrow(
      /element-keys\.txt: wrong passphrase \(\$FERRY_ROOM_KEYS_PASSPHRASE\), or the file is damaged/,
    );
  });

  it('ferry ingest matrix-archive --room-keys decrypts a raw dump of the room; a wrong passphrase exits 2', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'ferry-e2ee-cli-'));
    const dump = join(dir, `secret plans_${roomId}.json`);
    await writeFile(dump, JSON.stringify(await client.timeline(roomId)));
    const lastSession = (await client.timeline(roomId))
      .filter((e) => e['type'] === 'm.room.encrypted')
      .map((e) => (e['content'] as { session_id: string }).session_id)
      .at(-1);
    const partial = join(dir, 'partial-keys.txt');
    await writeFile(partial, await client.exportRoomKeys(PASS, (id) => id !== lastSession));

    const dataDir = join(dir, 'store');
    const env = { FERRY_ROOM_KEYS_PASSPHRASE: PASS };
    const args = ['--data-dir', dataDir, 'ingest', 'matrix-archive', dump, '--room-keys', partial];
    const r = await runCli([...args, '--json'], env);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const summary = JSON.parse(r.stdout) as Record<string, unknown>;
    expect(summary['room_keys']).toEqual({
      file: partial,
      sessions_in_file: 2,
      sessions_usable: 2,
      sessions_skipped: {},
      events: { decrypted: 6, no_key: 1, failed: 0 },
    });
    expect(summary['undecryptable']).toEqual({ [`matrix:${roomId}`]: { no_key: 1 } });
    expect(summary['events']).toMatchObject({ message: 6 });

    const wrongDir = join(dir, 'never-created');
    const wrong = await runCli(
      ['--data-dir', wrongDir, 'ingest', 'matrix-archive', dump, '--room-keys', partial],
      { FERRY_ROOM_KEYS_PASSPHRASE: 'guess' },
    );
    expect(wrong.code).toBe(2);
    expect(wrong.stderr).toContain('partial-keys.txt: wrong passphrase');
    expect(wrong.stderr).not.toContain('guess');
    expect(existsSync(wrongDir)).toBe(false);
    const none = await runCli(
      ['--data-dir', wrongDir, 'ingest', 'matrix-archive', dump, '--room-keys', partial],
      {
        FERRY_ROOM_KEYS_PASSPHRASE: '',
      },
    );
    expect(none.code).toBe(2);
    expect(none.stderr).toContain('set $FERRY_ROOM_KEYS_PASSPHRASE');
  });
});
