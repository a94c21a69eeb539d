/**
 * Encrypted attachments (client-server spec, "Sending encrypted attachments"): the media
 * repository holds AES-256-CTR ciphertext; the event's `file` object carries what opens it:
 *
 *   { url: "mxc://…", v: "v2", iv: base64 (16 bytes, the initial counter block),
 *     key: { kty: "oct", alg: "A256CTR", k: base64url (32 bytes), key_ops: [… "decrypt" …], ext: true },
 *     hashes: { sha256: base64 of the SHA-256 of the ciphertext } }
 *
 * The hash is checked before anything is decrypted. Every problem is a result with a reason,
 * never a throw: one bad attachment is a counted failure, not a failed import.
 */
import { createDecipheriv, createHash, timingSafeEqual } from 'node:crypto';

import { decodeBase64, decodeBase64Url } from './base64.js';

export interface EncryptedFileInfo {
  readonly url: string;
  readonly key: Buffer;
  readonly iv: Buffer;
  readonly sha256: Buffer;
}

export type AttachmentFailure = 'malformed_file_info' | 'unsupported_version' | 'hash_mismatch';

export type AttachmentResult =
  { ok: true; bytes: Buffer } | { ok: false; reason: AttachmentFailure };

/** Reads an event's `file` object; a failure reason when it is not a usable v2 A256CTR file. */
export function parseEncryptedFile(file: unknown): EncryptedFileInfo | AttachmentFailure {
  if (typeof file !== 'object' || file === null) return 'malformed_file_info';
  const f = file as Record<string, unknown>;
  if (f['v'] !== 'v2') return 'unsupported_version';
  const jwk = f['key'];
  const hashes = f['hashes'];
  if (typeof f['url'] !== 'string' || typeof f['iv'] !== 'string') return 'malformed_file_info';
  if (typeof jwk !== 'object' || jwk === null || typeof hashes !== 'object' || hashes === null) {
    return 'malformed_file_info';
  }
  const { kty, alg, k, key_ops } = jwk as Record<string, unknown>;
  const sha = (hashes as Record<string, unknown>)['sha256'];
  if (kty !== 'oct' || alg !== 'A256CTR' || typeof k !== 'string' || typeof sha !== 'string') {
    return 'malformed_file_info';
  }
  if (Array.isArray(key_ops) && !key_ops.includes('decrypt')) return 'malformed_file_info';
  const key = decodeBase64Url(k);
  const iv = decodeBase64(f['iv']);
  const sha256 = decodeBase64(sha);
  if (key?.length !== 32 || iv?.length !== 16 || sha256?.length !== 32)
    return 'malformed_file_info';
  return { url: f['url'], key, iv, sha256 };
}

/** Checks the ciphertext's SHA-256 against the file info, then decrypts it. */
export function decryptAttachment(
  info: EncryptedFileInfo,
  ciphertext: Uint8Array,
): AttachmentResult {
  const digest = createHash('sha256').update(ciphertext).digest();
  if (!timingSafeEqual(digest, info.sha256)) return { ok: false, reason: 'hash_mismatch' };
  const decipher = createDecipheriv('aes-256-ctr', info.key, info.iv);
  return { ok: true, bytes: Buffer.concat([decipher.update(ciphertext), decipher.final()]) };
}
