/**
 * The report page renderer as a pure function: hostile strings from the data come out as text,
 * an empty store renders, and the page references nothing outside itself.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildMigrationReport } from '../../src/cli/commands/report.js';
import { escapeHtml, renderMigrationReportHtml } from '../../src/cli/migration-report-html.js';
import {
  fillMonths,
  type MigrationReport,
  type RoomReport,
} from '../../src/store/migration-report.js';
import { createTestStore, type TestStore } from '../support/databases.js';

const EVIL = `<img src=x onerror=alert(1)>"'&</td></table><script>alert(2)</script>`;

function room(overrides: Partial<RoomReport> = {}): RoomReport {
  return {
    key: `slack:${EVIL}`,
    name: EVIL,
    kind: 'channel',
    source: 'slack:T1',
    matrix: { alias: `#${EVIL}:x`, room_id: '!r:x', status: 'failed', error: `boom ${EVIL}` },
    messages: 3,
    events: 4,
    events_by_kind: { message: 3, reaction: 1 },
    written: {
      sent: 2,
      skipped: { [EVIL]: 1 },
      skipped_total: 1,
      pending: 0,
      not_pushed: 1,
      late: 0,
    },
    files: { total: 1, uploaded: 0, linked: 0, unavailable: { [EVIL]: 1 }, not_sent: 0 },
    push: { ms: 1500, started_at: null, finished_at: null },
    verify: {
      room: 'r',
      room_id: '!r:x',
      ok: false,
      expected: 2,
      found: 1,
      missing: 1,
      duplicated: 0,
      out_of_order: 0,
      wrong_sender: 0,
      wrong_ts: 0,
      not_pushed: 1,
      late: 0,
      foreign: 0,
      examples: [`missing ${EVIL}`],
      verified_at: '2026-01-01T00:00:00.000Z',
      stale: true,
    },
    lost: { unsupported_blocks: { [EVIL]: 1 }, undecryptable: { no_key: 2 } },
    ...overrides,
  };
}

function hostileReport(): MigrationReport {
  const r = room();
  return {
    generated_at: '2026-01-02T00:00:00.000Z',
    status: {
      store: { backend: 'postgres', location: `postgres://h/${EVIL}` },
      sources: [{ key: `slack:${EVIL}`, kind: 'slack', name: EVIL }],
      users: 2,
      rooms: { space: 0, channel: 1, private: 0, dm: 0, group_dm: 0 },
      events: { message: 3, reaction: 1 },
      files: 1,
      last_run: { id: 1, status: 'done', input: `/exports/${EVIL}.zip`, started_at: 'now' },
      push: {
        rooms: { pending: 0, running: 0, done: 0, failed: 1 },
        events_sent: 2,
        events_skipped: 1,
        events_not_pushed: 1,
      },
    },
    totals: {
      rooms: 1,
      messages: 3,
      events: 4,
      sent: 2,
      skipped: 1,
      not_pushed: 1,
      files: r.files,
      verify: { verified: 1, ok: 0, mismatch: 1, stale: 1, not_verified: 0 },
    },
    rooms: [r],
    timeline: [{ month: '2025-12', messages: 3 }],
    slowest: [{ room: r.key, name: EVIL, ms: 1500, sent: 2, per_second: 1.3 }],
    lost: {
      runs: [{ id: 1, source: `slack:${EVIL}`, input: EVIL }],
      skipped: { [EVIL]: 1 },
      partial: { [EVIL]: 2 },
      undecryptable: { no_key: 2 },
      push_skipped: { [EVIL]: 1 },
      unsupported_blocks: { [EVIL]: 1 },
      files_unavailable: { [EVIL]: 1 },
    },
  };
}

/** The page with its (escaped, double-quoted) attribute values emptied: tags and text only. */
const markup = (html: string): string => html.replace(/"[^"]*"/g, '""');

describe('renderMigrationReportHtml', () => {
  it('escapes every string from the data', () => {
    const html = renderMigrationReportHtml(hostileReport());
    expect(html).not.toContain(EVIL);
    // No tag or attribute from the data: only escaped text (and escaped attribute values).
    expect(html).not.toMatch(/<(img|script|iframe|object|embed|link)\b/i);
    expect(markup(html)).not.toMatch(/<[^>]*\son\w+=/i);
    // The room name, its key, the error, the verify example and the reasons all appear as text.
    expect(html.split(escapeHtml(EVIL)).length - 1).toBeGreaterThanOrEqual(15);
    expect(html).toContain(`boom ${escapeHtml(EVIL)}`);
    expect(html).toContain(`data-room="${escapeHtml(`slack:${EVIL}`)}"`);
  });

  it('loads nothing from outside: CSP by hash of its only style block, no src or href', () => {
    const html = renderMigrationReportHtml(hostileReport());
    expect(html.match(/<style>/g)).toHaveLength(1);
    expect(html).toMatch(
      /content="default-src &#39;none&#39;; style-src &#39;sha256-[^&]+&#39;; img-src data:/,
    );
    expect(markup(html)).not.toMatch(/<[^>]*\s(src|href|srcset|action)=/i);
    expect(html).not.toMatch(/url\(|@import|https?:\/\//i);
  });

  it('escapes the five HTML-significant characters', () => {
    expect(escapeHtml(`<a href="x">'&'</a>`)).toBe(
      '&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;',
    );
  });
});

describe('the report of an empty store', () => {
  let store: TestStore;
  beforeAll(async () => {
    store = await createTestStore('postgres');
  });
  afterAll(async () => {
    await store?.dispose();
  });

  it('has zero totals and renders a page that says the store is empty', async () => {
    const report = await buildMigrationReport(store.store);
    expect(report.rooms).toEqual([]);
    expect(report.timeline).toEqual([]);
    expect(report.slowest).toEqual([]);
    expect(report.totals).toMatchObject({
      rooms: 0,
      messages: 0,
      events: 0,
      sent: 0,
      skipped: 0,
      not_pushed: 0,
    });
    expect(report.totals.verify.not_verified).toBe(0);
    expect(report.lost.runs).toEqual([]);
    const html = renderMigrationReportHtml(report);
    expect(html).toContain('The store is empty');
    expect(html).toContain('No messages.');
    expect(html).toContain('No push timing recorded yet.');
    expect(html).toContain('Nothing recorded as lost.');
    expect(html).toMatch(/<\/html>\n$/);
  });
});

describe('fillMonths', () => {
  it('fills the months without messages, across a year boundary', () => {
    expect(
      fillMonths([
        { month: '2023-11', n: 2 },
        { month: '2024-02', n: 5 },
      ]),
    ).toEqual([
      { month: '2023-11', messages: 2 },
      { month: '2023-12', messages: 0 },
      { month: '2024-01', messages: 0 },
      { month: '2024-02', messages: 5 },
    ]);
    expect(fillMonths([])).toEqual([]);
  });
});
