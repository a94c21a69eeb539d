import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PushState } from '../../src/matrix/push-state.js';
import { ingest } from '../../src/ingest/ingest.js';
import { slackExportItems } from '../../src/sources/slack/index.js';
import { createTestStore, type TestStore } from '../support/databases.js';

describe('ledger', () => {
  let t: TestStore;
  beforeAll(async () => {
    t = await createTestStore('postgres');
  });
  afterAll(async () => {
    await t.dispose();
  });

  it('marking a send moves the room high-water mark, except for end-of-room state', async () => {
    const db = t.store.knex;
    const state = new PushState(db);
    await db('matrix_rooms').insert({ room_key: 'r', alias: '#a:x' });
    const pending = (key: string, order: string) =>
      state.markPending({
        event_key: key,
        part: 0,
        room_key: 'r',
        order_key: order,
        txn_id: `t-${key}`,
        sender: '@s:x',
        ts: 1,
      });
    await pending('e2', '00000000000000002.0');
    await pending('e1', '00000000000000001.0');
    await pending('pins', '~pins');
    await state.markSent('e2', 0, '$2');
    await state.markSent('pins', 0, '$p');
    await state.markSent('e1', 0, '$1');
    const room = (await db('matrix_rooms').where({ room_key: 'r' }).first()) as {
      high_water: string;
      sent_events: number;
    };
    expect(room).toMatchObject({ high_water: '00000000000000002.0', sent_events: 2 });
    const statuses = (await db('matrix_ledger')
      .orderBy('event_key')
      .select('event_key', 'status', 'event_id')) as object[];
    expect(statuses).toEqual([
      { event_key: 'e1', status: 'sent', event_id: '$1' },
      { event_key: 'e2', status: 'sent', event_id: '$2' },
      { event_key: 'pins', status: 'sent', event_id: '$p' },
    ]);
  });

  it('counts the events still to write (the push ETA), all rooms or some', async () => {
    const db = t.store.knex;
    const state = new PushState(db);
    const path = 'test/fixtures/slack/modern';
    const { added } = await ingest(slackExportItems(path), t.store, { input: path });
    expect(await state.unwrittenEvents()).toBe(added.events);
    const general = (await db('events')
      .where({ room_key: 'slack:C01GENERAL' })
      .select('key', 'order_key')) as {
      key: string;
      order_key: string;
    }[];
    expect(await state.unwrittenEvents(['slack:C01GENERAL'])).toBe(general.length);
    await db('matrix_rooms').insert({ room_key: 'slack:C01GENERAL', alias: '#g:x' });
    // One sent, one skipped, one with only a later part: two are written.
    for (const [i, e] of general.slice(0, 3).entries()) {
      await db('matrix_ledger').insert({
        event_key: e.key,
        part: i === 2 ? 1 : 0,
        room_key: 'slack:C01GENERAL',
        order_key: e.order_key,
        txn_id: `t${i}`,
        status: i === 1 ? 'skipped' : 'sent',
      });
    }
    expect(await state.unwrittenEvents(['slack:C01GENERAL'])).toBe(general.length - 2);
    expect(await state.unwrittenEvents()).toBe(added.events - 2);
    expect(await state.unwrittenEvents(['slack:nothing'])).toBe(0);
  });
});
