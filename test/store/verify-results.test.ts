/** Stored verify results (migration 0008): one row per room, replaced by each verify of it. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  readVerifyResults,
  recordVerifyResult,
  type VerifyRoomResult,
} from '../../src/store/verify-results.js';
import { createTestStore, type TestStore } from '../support/databases.js';

const result = (over: Partial<VerifyRoomResult> = {}): VerifyRoomResult => ({
  room: 'slack:C1',
  room_id: '!a:x',
  ok: true,
  expected: 3,
  found: 3,
  missing: 0,
  duplicated: 0,
  out_of_order: 0,
  wrong_sender: 0,
  wrong_ts: 0,
  not_pushed: 0,
  late: 1,
  foreign: 2,
  examples: [],
  ...over,
});

describe('verify results', () => {
  let t: TestStore;
  beforeAll(async () => {
    t = await createTestStore('postgres');
  });
  afterAll(async () => {
    await t?.dispose();
  });

  it('keeps the last result of each room, with its examples and time', async () => {
    const db = t.store.knex;
    await recordVerifyResult(db, result());
    await recordVerifyResult(db, result({ room: 'slack:C2', ok: false, missing: 2, found: 1 }));
    const first = (await readVerifyResults(db)).get('slack:C1');
    expect(first).toMatchObject({ ok: true, expected: 3, late: 1, foreign: 2, examples: [] });
    await new Promise((r) => setTimeout(r, 20));
    await recordVerifyResult(
      db,
      result({ ok: false, found: 2, missing: 1, examples: ['missing $x <b>'] }),
    );
    const all = await readVerifyResults(db);
    expect(all.size).toBe(2);
    const again = all.get('slack:C1')!;
    expect(again).toMatchObject({ ok: false, found: 2, missing: 1, examples: ['missing $x <b>'] });
    expect(again.verified_at > first!.verified_at).toBe(true);
    expect(all.get('slack:C2')).toMatchObject({ ok: false, missing: 2 });
  });
});
