import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MessageEvent } from '../../src/model/index.js';
import { copyTextField, eventCopyLine } from '../../src/model/event-copy-row.js';
import { EventCopyStage } from '../../src/store/event-copy-stage.js';
import { eventFromRow, type EventRow } from '../../src/model/event-payload.js';
import { createTestStore, storeBackends, type TestStore } from '../support/databases.js';
import { TRICKY_TEXT, testMessage } from '../support/events.js';

/** The stage takes the lines the writer encodes (run columns included; the merge sets its own). */
const lines = (events: MessageEvent[]): [Buffer, number] => [
  Buffer.from(events.map((e) => eventCopyLine(e, '\t0\t0')).join('')),
  events.length,
];

describe.each(storeBackends)('COPY staging of events (%s)', (backend) => {
  let t: TestStore;
  beforeAll(async () => {
    t = await createTestStore(backend);
  });
  afterAll(async () => {
    await t.dispose();
  });

  it('escapes COPY text fields', () => {
    expect(copyTextField(null)).toBe('\\N');
    expect(copyTextField(42)).toBe('42');
    expect(copyTextField('plain')).toBe('plain');
    expect(copyTextField('a\tb\nc\\d\re')).toBe('a\\tb\\nc\\\\d\\re');
  });

  it('round-trips TRICKY_TEXT text, keeps the last copy of a key and counts added/updated/existing', async () => {
    const first = await t.store.knex.transaction(async (trx) => {
      const stage = new EventCopyStage(trx, backend);
      await stage.add(
        ...lines([
          testMessage(1, TRICKY_TEXT),
          testMessage(2, 'two'),
          testMessage(2, 'two, corrected'),
        ]),
      );
      return stage.merge(7);
    });
    expect(first).toEqual({ added: 2, updated: 0, existing: 0 });
    const rows = (await t.store.knex('events').orderBy('order_key')) as (EventRow & {
      first_run: number;
    })[];
    expect(rows.map((r) => Number(r.first_run))).toEqual([7, 7]);
    expect(rows.map((r) => eventFromRow(r))).toEqual([
      testMessage(1, TRICKY_TEXT),
      testMessage(2, 'two, corrected'),
    ]);

    const second = await t.store.knex.transaction(async (trx) => {
      const stage = new EventCopyStage(trx, backend);
      await stage.add(
        ...lines([
          testMessage(1, TRICKY_TEXT),
          testMessage(2, 'two, edited again'),
          testMessage(3, 'three'),
        ]),
      );
      return stage.merge(8);
    });
    expect(second).toEqual({ added: 1, updated: 1, existing: 1 });
  });
});
