import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { eventKey, type MessageEvent } from '../../src/model/index.js';
import { EventCopyWriter } from '../../src/store/event-copy-writer.js';
import { eventFromRow, type EventRow } from '../../src/model/event-payload.js';
import { addCounts, zeroCounts, type UpsertCounts } from '../../src/store/upsert.js';
import { createTestStore, storeBackends, type TestStore } from '../support/databases.js';
import { TRICKY_TEXT, testMessage } from '../support/events.js';

describe.each(storeBackends)('EventCopyWriter (%s)', (backend) => {
  let t: TestStore;
  beforeAll(async () => {
    t = await createTestStore(backend);
  });
  afterAll(async () => {
    await t.dispose();
  });
  beforeEach(async () => {
    await t.store.knex('events').delete();
  });

  /** Writes the batches in one transaction as an ingest would; returns counts and final mode. */
  async function run(runId: number, batches: MessageEvent[][]) {
    return t.store.knex.transaction(async (trx) => {
      const writer = new EventCopyWriter(trx, runId, backend);
      const counts: UpsertCounts = zeroCounts();
      const modes: string[] = [];
      for (const batch of batches) {
        addCounts(counts, await writer.write(writer.encode(batch)));
        modes.push(writer.mode);
      }
      addCounts(counts, await writer.finish());
      return { counts, modes };
    });
  }

  const stored = async () =>
    (
      (await t.store.knex('events').orderBy('order_key')) as (EventRow & { first_run: number })[]
    ).map((r) => ({ event: eventFromRow(r), firstRun: Number(r.first_run) }));

  it('copies new events straight into events, escaping TRICKY_TEXT text, all counted as added', async () => {
    const { counts, modes } = await run(3, [
      [testMessage(1, TRICKY_TEXT), testMessage(2, 'two')],
      [testMessage(3, 'x')],
    ]);
    expect(counts).toEqual({ added: 3, updated: 0, existing: 0 });
    expect(modes).toEqual(['direct', 'direct']);
    expect(await stored()).toEqual([
      { event: testMessage(1, TRICKY_TEXT), firstRun: 3 },
      { event: testMessage(2, 'two'), firstRun: 3 },
      { event: testMessage(3, 'x'), firstRun: 3 },
    ]);
  });

  it('escapes keys and IDs too (the rare path)', async () => {
    const odd: MessageEvent = {
      ...testMessage(4, 'x'),
      key: eventKey('test:\\4\tkey'),
      nativeId: 'tab\there\\N\r\n',
    };
    const { counts } = await run(1, [[odd]]);
    expect(counts.added).toBe(1);
    expect((await stored()).map((r) => r.event)).toEqual([odd]);
  });

  it('switches to the staged upsert at the first stored key and counts like an upsert', async () => {
    await run(1, [[testMessage(1, 'one'), testMessage(2, 'two')]]);
    const { counts, modes } = await run(2, [
      [testMessage(5, 'five')],
      [testMessage(1, 'one'), testMessage(2, 'two, edited'), testMessage(3, 'three')],
      [testMessage(4, 'four')],
    ]);
    expect(modes).toEqual(['direct', 'staged', 'staged']);
    expect(counts).toEqual({ added: 3, updated: 1, existing: 1 });
    const rows = await stored();
    expect(rows.map((r) => r.event)).toEqual([
      testMessage(1, 'one'),
      testMessage(2, 'two, edited'),
      testMessage(3, 'three'),
      testMessage(4, 'four'),
      testMessage(5, 'five'),
    ]);
    // The batch that met a stored key left nothing behind from its direct attempt.
    expect(rows.map((r) => r.firstRun)).toEqual([1, 1, 2, 2, 2]);
  });

  it('keeps the last copy of a key repeated inside one ingest', async () => {
    const { counts, modes } = await run(1, [
      [testMessage(1, 'first'), testMessage(2, 'two')],
      [testMessage(1, 'second')],
    ]);
    expect(modes).toEqual(['direct', 'staged']);
    expect(counts).toEqual({ added: 2, updated: 1, existing: 0 });
    expect((await stored()).map((r) => r.event)).toEqual([
      testMessage(1, 'second'),
      testMessage(2, 'two'),
    ]);
  });

  it('does not mistake another unique violation for a stored event', async () => {
    // Two different events at the same position of the same room.
    await expect(run(1, [[testMessage(1, 'a', 7), testMessage(2, 'b', 7)]])).rejects.toThrow(
      /events_room_order/,
    );
    expect(await stored()).toEqual([]);
  });
});
