/**
 * Encrypted history made by a real E2EE client (the rust crypto stack Element uses) on a real
 * Synapse, read back over the client-server API, and opened with ferry's decryptor and a key
 * export the client wrote itself.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { decryptAttachment, parseEncryptedFile } from '../../src/e2ee/encrypted-attachment.js';
import { loadRoomKeys } from '../../src/e2ee/room-keys.js';
import { E2eeClient } from '../support/e2ee-client.js';
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
});
