import { describe, expect, it } from 'vitest';
import { eventKey, type MediaRecord, type SourceItem } from '../../../src/model/index.js';
import { dayFileOutput } from '../../../src/sources/slack/day-file-output.js';
import { eventCopyLine } from '../../../src/model/event-copy-row.js';
import { testMessage } from '../../support/events.js';

// testMessage(n): even n reply in the thread of test:1.
const event = (n: number): SourceItem => ({ type: 'event', event: testMessage(n, `m${n}`) });
const media = { type: 'media', media: { key: 'test:file' } as unknown as MediaRecord } as const;
const messages = [
  { items: [event(2)] }, // a reply before its root
  { root: eventKey('test:1'), items: [event(1), media] },
  { items: [event(4)] }, // a reply after its root
  { items: [{ type: 'skip', reason: 'call_record', where: 'x' } as const] },
];

describe('dayFileOutput', () => {
  it('lists the thread roots it starts, and the root of each reply not preceded by it in this file', () => {
    const out = dayFileOutput(['1.2'], messages, false);
    expect(out.duplicates).toEqual(['1.2']);
    expect(out.roots).toEqual(['test:1']);
    expect(out.openReplies).toEqual(['test:1']); // only test:2's
  });

  it('keeps every item in message order on the main-thread path', () => {
    const out = dayFileOutput([], messages, false);
    expect(out.items.map((i) => (i.type === 'event' ? i.event.key : i.type))).toEqual([
      'test:2',
      'test:1',
      'media',
      'test:4',
      'skip',
    ]);
  });

  it('puts the events in one event_rows item after the other items on the worker path', () => {
    const out = dayFileOutput([], messages, true);
    expect(out.items.map((i) => i.type)).toEqual(['media', 'skip', 'event_rows']);
    const rows = out.items[2];
    if (rows?.type !== 'event_rows') throw new Error('no rows');
    expect(rows.rows.count).toBe(3);
    expect(Buffer.from(rows.rows.data).toString('utf8')).toBe(
      [2, 1, 4].map((n) => eventCopyLine(testMessage(n, `m${n}`), '')).join(''),
    );
    expect(rows.rows.threadReplies).toBe(2);
  });

  it('adds no event_rows item for a file without events', () => {
    const out = dayFileOutput([], [{ items: [media] }], true);
    expect(out.items.map((i) => i.type)).toEqual(['media']);
  });
});
