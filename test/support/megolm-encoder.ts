/**
 * A Megolm *sender* and a key-export *writer*, for tests only: they make known vectors the
 * decoder in src/e2ee must open. Written from the olm spec (megolm.md) and the client-server
 * spec ("Key exports") independently of src/e2ee, except for the ratchet's one-step rule, which
 * is the spec's per-step definition (the code under test skips instead). Cross-checked against
 * the real rust crypto library in test/e2ee/wasm-interop.test.ts.
 */
import {
  createCipheriv,
  createHmac,
  generateKeyPairSync,
  hkdfSync,
  pbkdf2Sync,
  randomBytes,
  sign,
  type KeyObject,
} from 'node:crypto';

const b64 = (b: Uint8Array): string => Buffer.from(b).toString('base64').replace(/=+$/, '');

/** One ratchet step exactly as megolm.md defines R(i) from R(i-1). */
export function stepRatchet(
  parts: Buffer[],
  counter: number,
): { parts: Buffer[]; counter: number } {
  const next = counter + 1;
  const h = (a: Buffer, j: number): Buffer =>
    createHmac('sha256', a)
      .update(Buffer.from([j]))
      .digest();
  const p = [...parts] as [Buffer, Buffer, Buffer, Buffer];
  if (next % 2 ** 24 === 0)
    return { parts: [h(p[0], 0), h(p[0], 1), h(p[0], 2), h(p[0], 3)], counter: next };
  if (next % 2 ** 16 === 0)
    return { parts: [p[0], h(p[1], 1), h(p[1], 2), h(p[1], 3)], counter: next };
  if (next % 2 ** 8 === 0) return { parts: [p[0], p[1], h(p[2], 2), h(p[2], 3)], counter: next };
  return { parts: [p[0], p[1], p[2], h(p[3], 3)], counter: next };
}

function varint(n: number): Buffer {
  const out: number[] = [];
  do {
    let byte = n % 128;
    n = Math.floor(n / 128);
    if (n > 0) byte |= 0x80;
    out.push(byte);
  } while (n > 0);
  return Buffer.from(out);
}

export class TestOutboundSession {
  private parts: Buffer[] = [0, 1, 2, 3].map(() => randomBytes(32));
  private counter = 0;
  private readonly privateKey: KeyObject;
  readonly publicKey: Buffer;

  constructor() {
    const pair = generateKeyPairSync('ed25519');
    this.privateKey = pair.privateKey;
    this.publicKey = pair.publicKey.export({ format: 'der', type: 'spki' }).subarray(12);
  }

  get sessionId(): string {
    return b64(this.publicKey);
  }

  get index(): number {
    return this.counter;
  }

  /** Steps the ratchet forward one message at a time (slow on purpose: the reference walk). */
  skipTo(index: number): void {
    while (this.counter < index)
      ({ parts: this.parts, counter: this.counter } = stepRatchet(this.parts, this.counter));
  }

  /** Session export format (version 1) at the current index. */
  exportKey(): string {
    const index = Buffer.alloc(4);
    index.writeUInt32BE(this.counter);
    return b64(Buffer.concat([Buffer.from([1]), index, ...this.parts, this.publicKey]));
  }

  /** Encrypts `{type, content, room_id}` at the current index and steps on; returns the ciphertext. */
  encrypt(payload: unknown): string {
    const keys = Buffer.from(
      hkdfSync('sha256', Buffer.concat(this.parts), Buffer.alloc(0), 'MEGOLM_KEYS', 80),
    );
    const cipher = createCipheriv('aes-256-cbc', keys.subarray(0, 32), keys.subarray(64, 80));
    const x = Buffer.concat([cipher.update(JSON.stringify(payload)), cipher.final()]);
    const body = Buffer.concat([
      Buffer.from([3, 0x08]),
      varint(this.counter),
      Buffer.from([0x12]),
      varint(x.length),
      x,
    ]);
    const mac = createHmac('sha256', keys.subarray(32, 64)).update(body).digest().subarray(0, 8);
    const signed = Buffer.concat([body, mac]);
    const signature = sign(null, signed, this.privateKey);
    this.skipTo(this.counter + 1);
    return b64(Buffer.concat([signed, signature]));
  }

  /** An m.room.encrypted content as a client sends it. */
  encryptEvent(
    roomId: string,
    type: string,
    content: Record<string, unknown>,
  ): Record<string, unknown> {
    return {
      algorithm: 'm.megolm.v1.aes-sha2',
      sender_key: 'c2VuZGVyIGN1cnZlMjU1MTkga2V5IGZvciB0ZXN0cw',
      device_id: 'TESTDEVICE',
      session_id: this.sessionId,
      ciphertext: this.encrypt({ type, content, room_id: roomId }),
    };
  }
}

/** Writes a key export file around `sessions` (the JSON array) with `passphrase`. */
export function writeKeyExport(sessions: unknown[], passphrase: string, rounds = 1000): string {
  const salt = randomBytes(16);
  const iv = randomBytes(16);
  iv[8] = (iv[8] as number) & 0x7f;
  const keys = pbkdf2Sync(passphrase, salt, rounds, 64, 'sha512');
  const cipher = createCipheriv('aes-256-ctr', keys.subarray(0, 32), iv);
  const x = Buffer.concat([cipher.update(JSON.stringify(sessions)), cipher.final()]);
  const roundsBytes = Buffer.alloc(4);
  roundsBytes.writeUInt32BE(rounds);
  const body = Buffer.concat([Buffer.from([1]), salt, iv, roundsBytes, x]);
  const mac = createHmac('sha256', keys.subarray(32)).update(body).digest();
  const text = Buffer.concat([body, mac]).toString('base64');
  const lines = text.match(/.{1,76}/g) ?? [];
  return [
    '-----BEGIN MEGOLM SESSION DATA-----',
    ...lines,
    '-----END MEGOLM SESSION DATA-----',
    '',
  ].join('\n');
}

export function exportedSession(
  roomId: string,
  session: TestOutboundSession,
): Record<string, unknown> {
  return {
    algorithm: 'm.megolm.v1.aes-sha2',
    room_id: roomId,
    sender_key: 'c2VuZGVyIGN1cnZlMjU1MTkga2V5IGZvciB0ZXN0cw',
    session_id: session.sessionId,
    session_key: session.exportKey(),
    sender_claimed_keys: { ed25519: 'ZWQyNTUxOSBrZXkgb2YgdGhlIHRlc3QgZGV2aWNl' },
    forwarding_curve25519_key_chain: [],
  };
}
