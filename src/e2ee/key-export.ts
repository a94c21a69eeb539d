/**
 * Element's "Export E2E room keys" file (Matrix client-server spec, "Key exports").
 *
 * The file is ASCII armour around one base64 blob:
 *
 *   -----BEGIN MEGOLM SESSION DATA-----
 *   base64( 0x01 | salt[16] | iv[16] | rounds[4, big-endian] | ciphertext | hmac[32] )
 *   -----END MEGOLM SESSION DATA-----
 *
 * PBKDF2-HMAC-SHA-512(passphrase, salt, rounds) gives 64 bytes: the first 32 are the AES-256-CTR
 * key (the IV is the initial counter block), the last 32 the HMAC-SHA-256 key. The HMAC covers
 * every byte before it. The plaintext is a JSON array of exported sessions (see
 * exported-session.ts).
 *
 * A wrong passphrase and a damaged file look the same (the HMAC does not match); the error says
 * both, names the file and never repeats the passphrase.
 */
import { createDecipheriv, createHmac, pbkdf2Sync, timingSafeEqual } from 'node:crypto';

import { FerryError } from '../errors.js';
import { decodeBase64 } from './base64.js';

const HEADER = '-----BEGIN MEGOLM SESSION DATA-----';
const FOOTER = '-----END MEGOLM SESSION DATA-----';
const VERSION = 1;
const SALT_AT = 1;
const IV_AT = 17;
const ROUNDS_AT = 33;
const CIPHERTEXT_AT = 37;
const MAC_LENGTH = 32;
/** Element writes 500 000; anything above this would take minutes and is not a real export. */
const MAX_ROUNDS = 10_000_000;

/** Decrypts the file's payload to the JSON text it holds. `file` names it in errors. */
export function decryptKeyExportText(data: string, passphrase: string, file: string): string {
  const body = unarmour(data, file);
  if (body.length < CIPHERTEXT_AT + MAC_LENGTH) throw invalid(file, 'the key data is too short');
  if (body[0] !== VERSION) {
    throw new FerryError(
      'input_unsupported',
      `${file}: key export version ${body[0]} is not supported (only version 1)`,
    );
  }
  const rounds = body.readUInt32BE(ROUNDS_AT);
  if (rounds < 1 || rounds > MAX_ROUNDS)
    throw invalid(file, `implausible PBKDF2 round count ${rounds}`);
  const salt = body.subarray(SALT_AT, IV_AT);
  const iv = body.subarray(IV_AT, ROUNDS_AT);
  const macAt = body.length - MAC_LENGTH;
  const keys = pbkdf2Sync(passphrase, salt, rounds, 64, 'sha512');
  const mac = createHmac('sha256', keys.subarray(32)).update(body.subarray(0, macAt)).digest();
  if (!timingSafeEqual(mac, body.subarray(macAt))) {
    throw invalid(file, 'wrong passphrase ($FERRY_ROOM_KEYS_PASSPHRASE), or the file is damaged');
  }
  const decipher = createDecipheriv('aes-256-ctr', keys.subarray(0, 32), iv);
  const clear = Buffer.concat([
    decipher.update(body.subarray(CIPHERTEXT_AT, macAt)),
    decipher.final(),
  ]);
  return new TextDecoder('utf-8', { fatal: true }).decode(clear);
}

function unarmour(data: string, file: string): Buffer {
  const start = data.indexOf(HEADER);
  const end = data.indexOf(FOOTER, start + HEADER.length);
  if (start < 0 || end < 0) {
    throw invalid(file, `not a room key export (no "${HEADER}" … "${FOOTER}" block)`);
  }
  const text = data.slice(start + HEADER.length, end).replace(/\s+/g, '');
  const bytes = decodeBase64(text);
  if (bytes === undefined) throw invalid(file, 'the key data is not valid base64');
  return bytes;
}

function invalid(file: string, what: string): FerryError {
  return new FerryError('input_invalid', `${file}: ${what}`);
}
