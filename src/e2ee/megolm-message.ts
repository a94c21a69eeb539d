/**
 * A Megolm message (olm spec, megolm.md "Message format"):
 *
 *   0x03 | body | MAC[8] | signature[64]
 *
 * The body is protobuf-style key/value pairs: tag 0x08 the message index (varint), tag 0x12 the
 * AES-256-CBC ciphertext (varint length, bytes). The MAC (HMAC-SHA-256 truncated to 8 bytes)
 * covers version and body; the Ed25519 signature covers version, body and MAC. Unknown tags are
 * skipped by wire type, as libolm does.
 */

export const MESSAGE_VERSION = 3;
export const MAC_LENGTH = 8;
export const SIGNATURE_LENGTH = 64;

export interface MegolmMessage {
  readonly index: number;
  readonly ciphertext: Buffer;
  /** Version byte and body: the bytes the MAC covers. */
  readonly macInput: Buffer;
  readonly mac: Buffer;
  /** Everything before the signature: the bytes it covers. */
  readonly signedInput: Buffer;
  readonly signature: Buffer;
}

/** Parses the decoded ciphertext of an m.room.encrypted event; a string says what is wrong. */
export function parseMegolmMessage(bytes: Buffer): MegolmMessage | string {
  if (bytes.length < 1 + MAC_LENGTH + SIGNATURE_LENGTH) return 'message too short';
  if (bytes[0] !== MESSAGE_VERSION) return `unsupported megolm message version ${bytes[0]}`;
  const signedEnd = bytes.length - SIGNATURE_LENGTH;
  const bodyEnd = signedEnd - MAC_LENGTH;
  let index: number | undefined;
  let ciphertext: Buffer | undefined;
  let pos = 1;
  while (pos < bodyEnd) {
    const tag = readVarint(bytes, pos, bodyEnd);
    if (tag === undefined) return 'malformed message body';
    pos = tag.next;
    const wireType = tag.value & 7;
    if (wireType === 0) {
      const v = readVarint(bytes, pos, bodyEnd);
      if (v === undefined) return 'malformed message body';
      if (tag.value === 0x08) index = v.value;
      pos = v.next;
    } else if (wireType === 2) {
      const len = readVarint(bytes, pos, bodyEnd);
      if (len === undefined || len.next + len.value > bodyEnd) return 'malformed message body';
      if (tag.value === 0x12) ciphertext = bytes.subarray(len.next, len.next + len.value);
      pos = len.next + len.value;
    } else {
      return 'malformed message body';
    }
  }
  if (index === undefined || ciphertext === undefined) return 'message without index or ciphertext';
  return {
    index,
    ciphertext,
    macInput: bytes.subarray(0, bodyEnd),
    mac: bytes.subarray(bodyEnd, signedEnd),
    signedInput: bytes.subarray(0, signedEnd),
    signature: bytes.subarray(signedEnd),
  };
}

/** Unsigned LEB128 varint, at most 32 bits (the message index is a uint32). */
function readVarint(
  bytes: Buffer,
  at: number,
  end: number,
): { value: number; next: number } | undefined {
  let value = 0;
  for (let i = 0; i < 5 && at + i < end; i++) {
    const byte = bytes[at + i] as number;
    value += (byte & 0x7f) * 2 ** (7 * i);
    if ((byte & 0x80) === 0) return value > 0xffffffff ? undefined : { value, next: at + i + 1 };
  }
  return undefined;
}
