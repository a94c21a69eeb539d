/**
 * The Slack adapter with day-file workers (day-file-pool.ts) against the same adapter mapping
 * on the main thread: everything but the form of the events must be identical, and the event
 * rows must be byte for byte what the main thread's events would be written as.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { generateSlackExport } from '../../../bench/generate-slack-export.js';
import { FerryError } from '../../../src/errors.js';
import { SummaryCounter } from '../../../src/ingest/summary.js';
import type { SourceItem } from '../../../src/model/index.js';
import { slackExportItems, type SlackExportOptions } from '../../../src/sources/slack/index.js';
import { eventCopyLine } from '../../../src/model/event-copy-row.js';
import { copyFixture } from '../../support/fixture-copy.js';
import { sharedFixture } from '../../support/shared-fixtures.js';

const MODERN = 'test/fixtures/slack/modern';
const GRID = 'test/fixtures/slack/grid';
const LEGACY_ZIP = sharedFixture('slack/testarchive-2016.zip');

const WORKERS: SlackExportOptions = { workers: 2, workerMinFiles: 0 };

async function drain(path: string, options: SlackExportOptions) {
  const items: SourceItem[] = [];
  for await (const item of slackExportItems(path, options)) items.push(item);
  const summary = new SummaryCounter();
  for (const item of items) summary.add(item);
  let rows = '';
  for (const item of items) {
    if (item.type === 'event') rows += eventCopyLine(item.event, '');
    if (item.type === 'event_rows') rows += Buffer.from(item.rows.data).toString('utf8');
  }
  return {
    summary: summary.finish(),
    rows,
    rowItems: items.filter((i) => i.type === 'event_rows').length,
    eventItemKinds: new Set(items.flatMap((i) => (i.type === 'event' ? [i.event.kind] : []))),
    /** Everything but events and progress, in order. */
    others: items.filter((i) => !['event', 'event_rows', 'progress'].includes(i.type)),
  };
}

describe('Slack adapter with day-file workers', () => {
  it.each([MODERN, GRID, LEGACY_ZIP])(
    'yields what the main thread yields, events as rows (%s)',
    async (path) => {
      const inline = await drain(path, {});
      const pooled = await drain(path, WORKERS);
      expect(inline.rowItems).toBe(0);
      expect(pooled.rowItems).toBeGreaterThan(0);
      expect(pooled.summary).toEqual(inline.summary);
      expect(pooled.rows).toBe(inline.rows);
      // Media, skips, losses, rooms and users (placeholders last) come out the same. Within a
      // day file, events now follow the file's other items, so compare those in order apart.
      expect(pooled.others).toEqual(inline.others);
      // Only the pins of the index files (channels.json) are still events.
      expect([...pooled.eventItemKinds].filter((k) => k !== 'pin')).toEqual([]);
    },
  );

  describe('on a generated export of a few hundred day files', () => {
    let zip: string;
    beforeAll(async () => {
      zip = join(mkdtempSync(join(tmpdir(), 'ferry-pool-')), 'generated.zip');
      await generateSlackExport({
        messages: 6000,
        out: zip,
        seed: 7,
        messagesPerConversation: 300,
      });
    });

    it('yields the same as the main thread, with the default threshold', async () => {
      const inline = await drain(zip, {});
      const pooled = await drain(zip, { workers: 3 });
      expect(pooled.rowItems).toBeGreaterThan(32);
      expect(pooled.summary).toEqual(inline.summary);
      expect(pooled.summary.thread_replies).toBeGreaterThan(0);
      expect(pooled.rows).toBe(inline.rows);
      expect(pooled.others).toEqual(inline.others);
    });
  });

  it('keeps placeholders and their names as the main thread finds them', async () => {
    const inline = await drain(MODERN, {});
    const pooled = await drain(MODERN, { workers: 1, workerMinFiles: 0 });
    const placeholders = (d: typeof inline) =>
      d.others.flatMap((i) => (i.type === 'user' && i.user.isPlaceholder ? [i.user] : []));
    expect(placeholders(pooled)).toEqual(placeholders(inline));
    expect(placeholders(pooled).length).toBeGreaterThan(0);
  });

  it('maps on the main thread when there are fewer day files than the threshold', async () => {
    const small = await drain(MODERN, { workers: 2 });
    expect(small.rowItems).toBe(0);
  });

  it('names the entry and the position of invalid JSON, or skips it when asked', async () => {
    const broken = copyFixture(MODERN);
    writeFileSync(
      join(broken, 'general', '2024-03-02.json'),
      '[\n {"type": "message",\n  "ts": oops}\n]',
    );
    const error = await drain(broken, WORKERS).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(FerryError);
    expect((error as FerryError).code).toBe('input_invalid');
    expect((error as FerryError).message).toMatch(
      /general\/2024-03-02\.json is not valid JSON \(line 3, column \d+/,
    );

    const inline = await drain(broken, { skipBadFiles: true });
    const pooled = await drain(broken, { ...WORKERS, skipBadFiles: true });
    expect(pooled.summary.skipped.bad_file).toBe(1);
    expect(pooled.summary).toEqual(inline.summary);
    expect(pooled.rows).toBe(inline.rows);
  });

  it('stops its workers when the consumer stops early', async () => {
    // Each running worker holds a MessagePort in this process.
    const ports = () => process.getActiveResourcesInfo().filter((r) => r === 'MessagePort').length;
    const before = ports();
    let seen = 0;
    let during = 0;
    for await (const item of slackExportItems(LEGACY_ZIP, WORKERS)) {
      if (item.type === 'event_rows') seen += 1;
      if (seen === 1) during = ports();
      if (seen === 2) break;
    }
    expect(seen).toBe(2);
    expect(during).toBe(before + 2);
    expect(ports()).toBe(before);
  });
});
