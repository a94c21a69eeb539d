import { randomBytes } from 'node:crypto';

import { describe, expect, it } from 'vitest';

import { MegolmDecryptor } from '../../src/e2ee/megolm-decryptor.js';
import { MegolmRatchet } from '../../src/e2ee/megolm-ratchet.js';
import { parseExportedSessions } from '../../src/e2ee/exported-session.js';
import { exportedSession, stepRatchet, TestOutboundSession } from '../support/megolm-encoder.js';

const ROOM = '!room:example.org';

function decryptorFor(...pairs: [string, TestOutboundSession][]): MegolmDecryptor {
  const json = JSON.stringify(pairs.map(([room, s]) => exportedSession(room, s)));
  return new MegolmDecryptor(parseExportedSessions(json, 'keys.txt').sessions);
}

describe('MegolmRatchet', () => {
  it('skipping lands on the same ratchet as stepping one message at a time', () => {
    const start = randomBytes(128);
    // Across an R(3) reseed (2^8), an R(2) reseed (2^16) and from a non-zero start.
    for (const [from, to] of [
      [0, 1],
      [0, 255],
      [0, 256],
      [3, 70_000],
      [65_535, 65_537],
      [200, 131_072],
    ] as const) {
      let parts: Buffer[] = [0, 1, 2, 3].map((j) => start.subarray(j * 32, j * 32 + 32));
      let counter: number = from;
      while (counter < to) ({ parts, counter } = stepRatchet(parts, counter));
      const skipped = new MegolmRatchet(start, from);
      skipped.advanceTo(to);
      expect(skipped.index).toBe(to);
      expect(skipped.data().equals(Buffer.concat(parts)), `${from} -> ${to}`).toBe(true);
    }
  });

  it('crosses an R(1) reseed (2^24) the same way as stepping from just before it', () => {
    const start = randomBytes(128);
    let parts: Buffer[] = [0, 1, 2, 3].map((j) => start.subarray(j * 32, j * 32 + 32));
    let counter: number = 2 ** 24 - 2;
    while (counter < 2 ** 24 + 1) ({ parts, counter } = stepRatchet(parts, counter));
    const skipped = new MegolmRatchet(start, 2 ** 24 - 2);
    skipped.advanceTo(2 ** 24 + 1);
    expect(skipped.data().equals(Buffer.concat(parts))).toBe(true);
  });

  it('refuses to wind backwards', () => {
    const r = new MegolmRatchet(randomBytes(128), 10);
    expect(() => r.advanceTo(9)).toThrow(RangeError);
  });
});

describe('MegolmDecryptor', () => {
  it('decrypts messages at any index, in any order, to the clear type and content', () => {
    const s = new TestOutboundSession();
    const d = decryptorFor([ROOM, s]);
    const events = [0, 1, 2, 300, 70_000].map((i) => {
      s.skipTo(i);
      const content = { msgtype: 'm.text', body: `message ${i}` };
      return { i, content: s.encryptEvent(ROOM, 'm.room.message', content) };
    });
    for (const e of [...events.slice(2), ...events.slice(0, 2)]) {
      expect(d.decryptEvent({ room_id: ROOM, content: e.content, event_id: `$${e.i}` })).toEqual({
        kind: 'decrypted',
        type: 'm.room.message',
        content: { msgtype: 'm.text', body: `message ${e.i}` },
      });
    }
  });

  it('copies the clear-text m.relates_to of the envelope into the clear content', () => {
    const s = new TestOutboundSession();
    const d = decryptorFor([ROOM, s]);
    const relation = { rel_type: 'm.thread', event_id: '$root' };
    const content = {
      ...s.encryptEvent(ROOM, 'm.room.message', { body: 'in a thread' }),
      'm.relates_to': relation,
    };
    const out = d.decryptEvent({ room_id: ROOM, content });
    expect(out).toMatchObject({
      kind: 'decrypted',
      content: { body: 'in a thread', 'm.relates_to': relation },
    });
  });

  it('an unknown session, or an index before the exported one, is no_key', () => {
    const known = new TestOutboundSession();
    known.skipTo(5);
    const d = decryptorFor([ROOM, known]);
    const other = new TestOutboundSession();
    const unknown = other.encryptEvent(ROOM, 'm.room.message', { body: 'x' });
    expect(d.decryptEvent({ room_id: ROOM, content: unknown })).toEqual({
      kind: 'no_key',
      sessionId: other.sessionId,
    });
    // A session exported at index 5 cannot open the message it sent at index 2.
    const late = new TestOutboundSession();
    late.skipTo(2);
    const early = late.encryptEvent(ROOM, 'm.room.message', { body: 'early' });
    late.skipTo(5);
    const d2 = decryptorFor([ROOM, late]);
    expect(d2.decryptEvent({ room_id: ROOM, content: early })).toEqual({
      kind: 'no_key',
      sessionId: late.sessionId,
    });
  });

  it('a tampered ciphertext, a wrong room, a replay and an unknown algorithm fail', () => {
    const s = new TestOutboundSession();
    const d = decryptorFor([ROOM, s]);
    const good = s.encryptEvent(ROOM, 'm.room.message', { body: 'hello' });
    const bytes = Buffer.from(good['ciphertext'] as string, 'base64');
    bytes[10] = (bytes[10] as number) ^ 1;
    const tampered = { ...good, ciphertext: bytes.toString('base64').replace(/=+$/, '') };
    expect(d.decryptEvent({ room_id: ROOM, content: tampered })).toEqual({
      kind: 'failed',
      reason: 'bad signature',
    });
    expect(d.decryptEvent({ room_id: '!other:example.org', content: good })).toMatchObject({
      kind: 'failed',
    });
    expect(d.decryptEvent({ room_id: ROOM, content: good, event_id: '$a' }).kind).toBe('decrypted');
    expect(d.decryptEvent({ room_id: ROOM, content: good, event_id: '$a' }).kind).toBe('decrypted');
    expect(d.decryptEvent({ room_id: ROOM, content: good, event_id: '$b' })).toMatchObject({
      kind: 'failed',
    });
    expect(
      d.decryptEvent({
        room_id: ROOM,
        content: { ...good, algorithm: 'm.olm.v1.curve25519-aes-sha2' },
      }),
    ).toEqual({
      kind: 'failed',
      reason: 'unsupported algorithm m.olm.v1.curve25519-aes-sha2',
    });
    expect(
      d.decryptEvent({ room_id: ROOM, content: { ...good, ciphertext: 'AAAA' } }),
    ).toMatchObject({ kind: 'failed' });
  });

  it('a payload encrypted for another room fails even inside the right session', () => {
    const s = new TestOutboundSession();
    const d = decryptorFor([ROOM, s]);
    const content = s.encryptEvent('!elsewhere:example.org', 'm.room.message', { body: 'moved' });
    expect(d.decryptEvent({ room_id: ROOM, content })).toEqual({
      kind: 'failed',
      reason: 'decrypted payload is for another room',
    });
  });

  it('skips exported sessions whose key does not match their ID, or is malformed', () => {
    const s = new TestOutboundSession();
    const entries = [
      { ...exportedSession(ROOM, s), session_id: new TestOutboundSession().sessionId },
      { ...exportedSession(ROOM, s), session_key: 'AQ' },
      { ...exportedSession(ROOM, s), algorithm: 'm.megolm.v2.aes-sha2' },
      exportedSession(ROOM, s),
    ];
    const parsed = parseExportedSessions(JSON.stringify(entries), 'keys.txt');
    expect(parsed.skipped).toEqual({ unsupported_algorithm: 1 });
    const d = new MegolmDecryptor(parsed.sessions);
    expect(d.skipped).toEqual({ session_id_mismatch: 1, malformed_session: 1 });
    expect(d.sessionCount).toBe(1);
  });
});
