import { describe, expect, it } from 'vitest';
import { eventCopyLine } from '../../src/model/event-copy-row.js';
import { encodeEventRows } from '../../src/model/event-copy-row.js';
import { withRunColumns } from '../../src/store/event-rows.js';
import { TRICKY_TEXT, testMessage } from '../support/events.js';

const events = [testMessage(1, 'root'), testMessage(2, TRICKY_TEXT), testMessage(3, 'x\ny', 0)];

describe('encodeEventRows', () => {
  it('writes the COPY lines of the events, in order, without run columns', () => {
    const rows = encodeEventRows(events);
    expect(Buffer.from(rows.data).toString('utf8')).toBe(
      events.map((e) => eventCopyLine(e, '')).join(''),
    );
    expect(rows.count).toBe(3);
  });

  it('counts what the summary needs: kinds, thread replies, the time range', () => {
    const rows = encodeEventRows(events);
    expect(rows.kinds).toEqual({ message: 3 });
    expect(rows.threadReplies).toBe(1); // test:2 replies to test:1
    expect(rows.minTs).toBe(events[0]!.ts);
    expect(rows.maxTs).toBe(events[2]!.ts);
  });

  it('is empty for no events', () => {
    const rows = encodeEventRows([]);
    expect(rows.count).toBe(0);
    expect(rows.data.length).toBe(0);
    expect(rows.minTs).toBe(Number.POSITIVE_INFINITY);
  });
});

describe('withRunColumns', () => {
  it('gives the lines the ingest itself writes for the run', () => {
    const { data } = encodeEventRows(events);
    expect(withRunColumns(data, 42).toString('utf8')).toBe(
      events.map((e) => eventCopyLine(e, '\t42\t42')).join(''),
    );
  });

  it('accepts a plain Uint8Array (what a worker thread sends)', () => {
    const { data } = encodeEventRows(events);
    const copy = new Uint8Array(data.length + 4).subarray(2, 2 + data.length);
    copy.set(data);
    expect(withRunColumns(copy, 7)).toEqual(withRunColumns(data, 7));
  });

  it('refuses rows cut in the middle of a line', () => {
    const { data } = encodeEventRows(events);
    expect(() => withRunColumns(data.subarray(0, data.length - 1), 1)).toThrow(/newline/);
  });

  it('keeps empty input empty', () => {
    expect(withRunColumns(new Uint8Array(0), 1).length).toBe(0);
  });
});
