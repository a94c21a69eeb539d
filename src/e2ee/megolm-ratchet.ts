/**
 * The Megolm ratchet (olm spec, megolm.md "The Megolm ratchet algorithm"): four 32-byte parts
 * R(i,0..3) and a 32-bit counter i. Every step rehashes R(i,3); every 2^8 steps R(i,3) is
 * reseeded from R(i,2), every 2^16 steps R(i,2..3) from R(i,1), every 2^24 steps R(i,1..3) from
 * R(i,0). H_j(A) = HMAC-SHA-256(key A, the single byte j).
 *
 * `advanceTo` moves to any later index with at most 4 × 255 hashes, part by part (the same walk
 * as libolm's megolm_advance_to), instead of one step per message.
 */
import { createHmac } from 'node:crypto';

export const RATCHET_PART_LENGTH = 32;
export const RATCHET_LENGTH = 4 * RATCHET_PART_LENGTH;

const SEEDS = [0, 1, 2, 3].map((j) => Buffer.from([j]));

export class MegolmRatchet {
  private readonly parts: Buffer[];

  /** `data` is R(i,0) ‖ R(i,1) ‖ R(i,2) ‖ R(i,3), 128 bytes; it is copied. */
  constructor(
    data: Uint8Array,
    private counter: number,
  ) {
    if (data.length !== RATCHET_LENGTH) throw new RangeError('a megolm ratchet is 128 bytes');
    this.parts = [0, 1, 2, 3].map((j) =>
      Buffer.from(data.subarray(j * RATCHET_PART_LENGTH, (j + 1) * RATCHET_PART_LENGTH)),
    );
  }

  get index(): number {
    return this.counter;
  }

  /** R(i), the 128 bytes the message keys are derived from. */
  data(): Buffer {
    return Buffer.concat(this.parts);
  }

  clone(): MegolmRatchet {
    return new MegolmRatchet(this.data(), this.counter);
  }

  /** Winds the ratchet forward to `target` (≥ the current index, < 2^32). */
  advanceTo(target: number): void {
    if (!Number.isInteger(target) || target < this.counter || target > 0xffffffff) {
      throw new RangeError(`cannot wind a megolm ratchet from ${this.counter} to ${target}`);
    }
    for (let j = 0; j < 4; j++) {
      const shift = (3 - j) * 8;
      const steps = ((target >>> shift) - (this.counter >>> shift)) & 0xff;
      if (steps === 0) continue;
      // All but the last step only bump R(j); the last one also reseeds R(j+1)..R(3) from it.
      for (let s = 1; s < steps; s++) this.rehash(j, j);
      for (let k = 3; k >= j; k--) this.rehash(j, k);
      this.counter = (target & (0xffffffff << shift)) >>> 0;
    }
    this.counter = target;
  }

  private rehash(from: number, to: number): void {
    const source = this.parts[from] as Buffer;
    this.parts[to] = createHmac('sha256', source)
      .update(SEEDS[to] as Buffer)
      .digest();
  }
}
