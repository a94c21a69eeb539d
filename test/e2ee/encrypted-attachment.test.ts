import { createCipheriv, createHash, randomBytes } from 'node:crypto';

import { describe, expect, it } from 'vitest';

import { decryptAttachment, parseEncryptedFile } from '../../src/e2ee/encrypted-attachment.js';

const b64 = (b: Buffer): string => b.toString('base64').replace(/=+$/, '');

function encryptFile(bytes: Buffer): { file: Record<string, unknown>; ciphertext: Buffer } {
  const key = randomBytes(32);
  const iv = Buffer.concat([randomBytes(8), Buffer.alloc(8)]);
  const cipher = createCipheriv('aes-256-ctr', key, iv);
  const ciphertext = Buffer.concat([cipher.update(bytes), cipher.final()]);
  const file = {
    url: 'mxc://example.org/abc',
    v: 'v2',
    iv: b64(iv),
    key: {
      kty: 'oct',
      alg: 'A256CTR',
      ext: true,
      key_ops: ['encrypt', 'decrypt'],
      k: key.toString('base64url'),
    },
    hashes: { sha256: b64(createHash('sha256').update(ciphertext).digest()) },
  };
  return { file, ciphertext };
}

describe('encrypted attachments', () => {
  it('decrypts to the original bytes', () => {
    const bytes = randomBytes(70_001);
    const { file, ciphertext } = encryptFile(bytes);
    const info = parseEncryptedFile(file);
    if (typeof info === 'string') throw new Error(info);
    expect(info.url).toBe('mxc://example.org/abc');
    const out = decryptAttachment(info, ciphertext);
    expect(out.ok && out.bytes.equals(bytes)).toBe(true);
  });

  it('a changed ciphertext is a hash mismatch, not a throw', () => {
    const { file, ciphertext } = encryptFile(randomBytes(100));
    ciphertext[5] = (ciphertext[5] as number) ^ 0xff;
    const info = parseEncryptedFile(file);
    if (typeof info === 'string') throw new Error(info);
    expect(decryptAttachment(info, ciphertext)).toEqual({ ok: false, reason: 'hash_mismatch' });
  });

  it('rejects file objects that are not v2 A256CTR with a 32-byte key and 16-byte IV', () => {
    const { file } = encryptFile(randomBytes(10));
    expect(parseEncryptedFile({ ...file, v: 'v1' })).toBe('unsupported_version');
    expect(
      parseEncryptedFile({ ...file, key: { ...(file['key'] as object), alg: 'A128CTR' } }),
    ).toBe('malformed_file_info');
    expect(parseEncryptedFile({ ...file, iv: 'AAAA' })).toBe('malformed_file_info');
    expect(parseEncryptedFile({ ...file, hashes: {} })).toBe('malformed_file_info');
    expect(parseEncryptedFile(null)).toBe('malformed_file_info');
  });
});
