import { createWriteStream, rmSync, statSync } from 'node:fs';
import { once } from 'node:events';
import { dirname, join } from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import { elementExportItems } from '../../../src/sources/element/index.js';
import { ROOM_ID, tempDir } from './element-fixtures.js';

const EVENTS = 50_000;
/** Body length: makes the document ~75 MB, far more than the allowed growth once parsed. */
const BODY = 'x'.repeat(1400);

/** Writes a big export the way Element does (pretty-printed), without holding it. */
async function writeBigExport(path: string): Promise<void> {
  const out = createWriteStream(path);
  const write = async (text: string) => {
    if (!out.write(text)) await once(out, 'drain');
  };
  await write(
    '{\n  "room_name": "Big",\n  "topic": "",\n  "exported_by": "Bot",\n  "messages": [\n',
  );
  for (let i = 0; i < EVENTS; i++) {
    const sender = `@user${i % 50}:example.org`;
    const event =
      i % 1000 === 0
        ? {
            type: 'm.room.member',
            state_key: sender,
            content: { membership: 'join', displayname: `User ${i % 50}` },
          }
        : { type: 'm.room.message', content: { msgtype: 'm.text', body: `${i} ${BODY}` } };
    const full = {
      ...event,
      room_id: ROOM_ID,
      sender,
      origin_server_ts: 1700000000000 + i * 1000,
      unsigned: { age: i },
      event_id: `$big${i}`,
    };
    const text = JSON.stringify(full, null, 2).replace(/^/gm, '    ');
    await write(i + 1 < EVENTS ? `${text},\n` : `${text}\n`);
  }
  await write('  ]\n}\n');
  out.end();
  await once(out, 'close');
}

describe('Element adapter on a large export', () => {
  it('streams 50k events with bounded memory, in order', async () => {
    const path = join(tempDir(), 'big.json');
    onTestFinished(() => rmSync(dirname(path), { recursive: true, force: true }));
    await writeBigExport(path);
    const size = statSync(path).size;
    expect(size).toBeGreaterThan(70_000_000);

    const before = process.memoryUsage().rss;
    let peak = before;
    let events = 0;
    let users = 0;
    let previous = '';
    let ordered = true;
    let lastProgress = 0;
    for await (const item of elementExportItems(path)) {
      if (item.type === 'event') {
        events += 1;
        if (item.event.order <= previous) ordered = false;
        previous = item.event.order;
        if (events % 1000 === 0) peak = Math.max(peak, process.memoryUsage().rss);
      } else if (item.type === 'user') {
        users += 1;
      } else if (item.type === 'progress') {
        expect(item.done).toBeGreaterThanOrEqual(lastProgress);
        lastProgress = item.done;
      }
    }
    peak = Math.max(peak, process.memoryUsage().rss);
    expect(events).toBe(EVENTS);
    expect(users).toBe(50);
    expect(ordered).toBe(true);
    expect(lastProgress).toBe(2 * size); // two passes
    // Growth is ~20 MB here; JSON.parse of the same document grows RSS by ~200 MB.
    expect(peak - before).toBeLessThan(150 * 1024 * 1024);
  }, 120_000);
});
