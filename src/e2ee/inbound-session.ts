/**
 * One inbound Megolm session: what a key export gives for one (room, session ID).
 *
 * Key formats (olm spec, megolm.md "Data exchange formats"), big-endian index:
 *   session export  0x01 | index[4] | R(i,0..3)[128] | ed25519 public key[32]               (165 bytes)
 *   session sharing 0x02 | index[4] | R(i,0..3)[128] | ed25519 public key[32] | sig[64]    (229 bytes)
 *
 * Decrypting message i (megolm.md "Message encryption"): wind a copy of the ratchet to i,
 * HKDF-SHA-256(salt empty, R(i), "MEGOLM_KEYS", 80 bytes) = AES key[32] ‖ HMAC key[32] ‖ IV[16];
 * check the Ed25519 signature with the session key and the 8-byte truncated HMAC, then
 * AES-256-CBC with PKCS#7 padding.
 *
 * History is read mostly in order, so the ratchet at the last decrypted index is kept and the
 * next message winds on from there; an earlier message winds from the exported index again.
 */
import {
  createDecipheriv,
  createHmac,
  createPublicKey,
  hkdfSync,
  timingSafeEqual,
  verify,
  type KeyObject,
} from 'node:crypto';

import { decodeBase64, encodeBase64Unpadded } from './base64.js';
import { MAC_LENGTH, type MegolmMessage } from './megolm-message.js';
import { MegolmRatchet, RATCHET_LENGTH } from './megolm-ratchet.js';

const EXPORT_VERSION = 1;
const SHARING_VERSION = 2;
const KEY_AT = 5 + RATCHET_LENGTH;
const EXPORT_LENGTH = KEY_AT + 32;
const SHARING_LENGTH = EXPORT_LENGTH + 64;
/** DER prefix of an Ed25519 SubjectPublicKeyInfo (RFC 8410); the 32 raw key bytes follow. */
const ED25519_SPKI_PREFIX = Buffer.from('302a300506032b6570032100', 'hex');

export type SessionDecryptResult = { ok: true; plaintext: string } | { ok: false; reason: string };

export class InboundSession {
  /** Base64 (unpadded) of the session's Ed25519 key: the session ID events carry. */
  readonly sessionId: string;
  private latest: MegolmRatchet;

  private constructor(
    private readonly initial: MegolmRatchet,
    private readonly signingKey: KeyObject,
    publicKey: Buffer,
  ) {
    this.sessionId = encodeBase64Unpadded(publicKey);
    this.latest = initial.clone();
  }

  /** Reads an exported (v1) or shared (v2) session key; a string says what is wrong. */
  static fromSessionKey(sessionKey: string): InboundSession | string {
    const bytes = decodeBase64(sessionKey);
    if (bytes === undefined) return 'session key is not base64';
    const version = bytes[0];
    const expected = version === EXPORT_VERSION ? EXPORT_LENGTH : SHARING_LENGTH;
    if (version !== EXPORT_VERSION && version !== SHARING_VERSION) {
      return `unsupported session key version ${version}`;
    }
    if (bytes.length !== expected) return `session key has ${bytes.length} bytes, not ${expected}`;
    const publicKey = bytes.subarray(KEY_AT, EXPORT_LENGTH);
    const signingKey = ed25519Key(publicKey);
    if (version === SHARING_VERSION) {
      const signed = bytes.subarray(0, EXPORT_LENGTH);
      if (!verify(null, signed, signingKey, bytes.subarray(EXPORT_LENGTH))) {
        return 'session key signature does not match';
      }
    }
    const ratchet = new MegolmRatchet(bytes.subarray(5, KEY_AT), bytes.readUInt32BE(1));
    return new InboundSession(ratchet, signingKey, Buffer.from(publicKey));
  }

  /** The earliest message index this session can decrypt. */
  get firstIndex(): number {
    return this.initial.index;
  }

  decrypt(message: MegolmMessage): SessionDecryptResult {
    if (message.index < this.initial.index) {
      return {
        ok: false,
        reason: `message index ${message.index} is before the session's first known index ${this.initial.index}`,
      };
    }
    if (!verify(null, message.signedInput, this.signingKey, message.signature)) {
      return { ok: false, reason: 'bad signature' };
    }
    const ratchet = message.index >= this.latest.index ? this.latest : this.initial.clone();
    ratchet.advanceTo(message.index);
    this.latest = ratchet;
    const keys = Buffer.from(
      hkdfSync('sha256', ratchet.data(), Buffer.alloc(0), 'MEGOLM_KEYS', 80),
    );
    const mac = createHmac('sha256', keys.subarray(32, 64)).update(message.macInput).digest();
    if (!timingSafeEqual(mac.subarray(0, MAC_LENGTH), message.mac)) {
      return { ok: false, reason: 'bad MAC' };
    }
    try {
      const decipher = createDecipheriv('aes-256-cbc', keys.subarray(0, 32), keys.subarray(64, 80));
      const clear = Buffer.concat([decipher.update(message.ciphertext), decipher.final()]);
      return { ok: true, plaintext: new TextDecoder('utf-8', { fatal: true }).decode(clear) };
    } catch {
      return { ok: false, reason: 'bad padding or not UTF-8 after decryption' };
    }
  }
}

export function ed25519Key(raw: Uint8Array): KeyObject {
  return createPublicKey({
    key: Buffer.concat([ED25519_SPKI_PREFIX, raw]),
    format: 'der',
    type: 'spki',
  });
}
