/**
 * `ferry report` end to end: a Slack fixture (one channel renamed to hostile HTML) is ingested,
 * pushed into the real Synapse and verified; the HTML page is opened in Debian's headless
 * Chromium, screenshotted, and its figures read back from the DOM are compared with
 * `ferry status --json` and `ferry report --json`.
 */
import { existsSync, readFileSync, renameSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { stringify } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MigrationReport } from '../../src/store/migration-report.js';
import type { StoreStatus } from '../../src/store/status.js';
import { CHROMIUM_PATH, openFile, type OpenedPage } from '../support/chromium.js';
import { createPostgresDatabase } from '../support/databases.js';
import { copyFixture, readJson, writeJson } from '../support/fixture-copy.js';
import { TEST_PREFIX } from '../support/migration.js';
import { decodePng, pngStats } from '../support/png.js';
import { runCli } from '../support/run-cli.js';
import { sharedSynapse } from '../support/synapse.js';

// No '/': it is also the channel's folder name in the export.
const HOSTILE = `<img src=x onerror=alert(1)> "café" & 'été' <script>alert(2)`;

interface DomFigures {
  metrics: Record<string, number[]>;
  rooms: Record<string, Record<string, number> & { name: string; verify: string }>;
  csp: string;
  /** Elements that could load something (src, href, link, iframe…). */
  external: number;
  imgs: number;
  scripts: number;
  handlers: number;
}

describe('ferry report', () => {
  let dir: string;
  let db: Awaited<ReturnType<typeof createPostgresDatabase>>;
  let config: string;
  let status: StoreStatus;
  let report: MigrationReport;
  let beforeVerify: MigrationReport;
  let html: string;
  let opened: OpenedPage;
  let dom: DomFigures;
  let screenshot: Buffer;
  const ferry = (...args: string[]) => runCli(['--config', config, '--database', db.url, ...args]);
  const json = async <T>(...args: string[]): Promise<T> => {
    const r = await ferry(...args, '--json');
    expect(r.code, r.stderr).toBe(0);
    return JSON.parse(r.stdout) as T;
  };

  beforeAll(async () => {
    expect(existsSync(CHROMIUM_PATH), `${CHROMIUM_PATH} (apt-get install chromium)`).toBe(true);
    const synapse = await sharedSynapse();
    db = await createPostgresDatabase();
    dir = mkdtempSync(join(tmpdir(), 'ferry-report-'));
    config = join(dir, 'ferry.yaml');
    // Own alias prefix: the shared homeserver may hold this fixture's rooms from another test.
    const prefix = `${TEST_PREFIX}report${process.pid}_`;
    writeFileSync(
      config,
      stringify({
        matrix: {
          homeserver: synapse.baseUrl,
          registration: synapse.registrationPath,
          userPrefix: TEST_PREFIX,
          aliasPrefix: prefix,
          concurrency: 3,
        },
      }),
    );
    const fixture = copyFixture('test/fixtures/slack/modern');
    const channels = readJson(join(fixture, 'channels.json')) as { name: string }[];
    const cafe = channels.find((c) => c.name === 'café-été')!;
    cafe.name = HOSTILE;
    writeJson(join(fixture, 'channels.json'), channels);
    renameSync(join(fixture, 'café-été'), join(fixture, HOSTILE));

    expect((await ferry('ingest', 'slack', fixture, '--json')).code).toBe(0);
    const push = await ferry('push', '--json');
    expect(push.code, push.stderr).toBe(0);
    beforeVerify = await json<MigrationReport>('report');
    const verify = await ferry('verify', '--json');
    expect(verify.code, verify.stderr).toBe(0);

    // One run writes the page and prints its data: both from the same snapshot.
    const file = join(dir, 'report.html');
    report = await json<MigrationReport>('report', '--html', file);
    html = readFileSync(file, 'utf8');
    status = await json<StoreStatus>('status');
    opened = await openFile(file);
    screenshot = await opened.page.screenshot({ fullPage: true });
    writeFileSync(join(dir, 'report.png'), screenshot);
    dom = (await opened.page.evaluate(READ_DOM)) as DomFigures;
  }, 240_000);

  afterAll(async () => {
    await opened?.close();
    await db?.drop();
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  });

  it('renders in Chromium: a real screenshot, no console errors, no request but the file', () => {
    const png = decodePng(screenshot);
    expect(png.width).toBe(1280);
    expect(png.height).toBeGreaterThan(900);
    const stats = pngStats(png);
    expect(stats.colours).toBeGreaterThan(20);
    expect(stats.nonBackground).toBeGreaterThan(0.05);
    expect(opened.errors).toEqual([]);
    expect(opened.requests).toEqual([pathToFileURL(join(dir, 'report.html')).href]);
  });

  it('is self-contained: a strict CSP, no script, no external reference', () => {
    expect(dom.csp).toMatch(
      /^default-src 'none'; style-src 'sha256-[A-Za-z0-9+/=]+'; img-src data:;/,
    );
    expect(html).not.toMatch(/<(script|link|img|iframe|object|embed)\b|url\(|@import/i);
    expect(dom.external).toBe(0);
    expect(dom.scripts).toBe(0);
    expect(dom.imgs).toBe(0);
    expect(dom.handlers).toBe(0);
  });

  it('shows the hostile room name as text', () => {
    const room = Object.values(dom.rooms).find((r) => r.name.startsWith('<img'));
    expect(room?.name).toBe(HOSTILE);
    expect(report.rooms.find((r) => r.key === 'slack:C01CAFE')?.name).toBe(HOSTILE);
  });

  it('shows the figures of ferry status --json', () => {
    const one = (metric: string): number => {
      const values = dom.metrics[metric];
      expect(values, metric).toHaveLength(1);
      return values![0]!;
    };
    expect(one('status.users')).toBe(status.users);
    for (const [kind, n] of Object.entries(status.rooms))
      expect(one(`status.rooms.${kind}`)).toBe(n);
    for (const [kind, n] of Object.entries(status.events))
      expect(one(`status.events.${kind}`)).toBe(n);
    for (const [s, n] of Object.entries(status.push.rooms))
      expect(one(`status.push.rooms.${s}`)).toBe(n);
    expect(one('status.files')).toBe(status.files);
    expect(one('push.events_sent')).toBe(status.push.events_sent);
    expect(one('push.events_skipped')).toBe(status.push.events_skipped);
    expect(one('push.events_not_pushed')).toBe(status.push.events_not_pushed);
    expect(status.push.events_sent).toBeGreaterThan(20);
    // The report's own status is the same object (but for nothing: the store did not change).
    expect(report.status).toEqual(status);
  });

  it('shows the figures of ferry report --json, and the rooms add up to the status', () => {
    const t = report.totals;
    expect(dom.metrics.rooms).toEqual([t.rooms]);
    expect(dom.metrics.messages?.[0]).toBe(t.messages);
    expect(dom.metrics.events).toEqual([t.events]);
    expect(dom.metrics['files.total']).toEqual([t.files.total]);
    expect(dom.metrics['verify.ok']).toEqual([t.verify.ok]);
    expect(dom.metrics['verify.not_verified']).toEqual([t.verify.not_verified]);
    expect(t.events).toBe(Object.values(status.events).reduce((a, b) => a + b, 0));
    expect(t.messages).toBe((status.events.message ?? 0) + (status.events.file ?? 0));
    expect(t.sent).toBe(status.push.events_sent);
    expect(t.skipped).toBe(status.push.events_skipped);
    expect(t.not_pushed).toBe(status.push.events_not_pushed);
    expect(t.rooms).toBe(Object.values(status.rooms).reduce((a, b) => a + b, 0));
    expect(Object.keys(dom.rooms).sort()).toEqual(report.rooms.map((r) => r.key).sort());
    for (const room of report.rooms) {
      const row = dom.rooms[room.key]!;
      expect(row.messages, room.key).toBe(room.messages);
      expect(row.sent, room.key).toBe(room.written.sent);
      expect(row.skipped, room.key).toBe(room.written.skipped_total);
      expect(row.not_pushed, room.key).toBe(room.written.not_pushed);
      expect(row['files.uploaded'], room.key).toBe(room.files.uploaded);
    }
  });

  it('records verify per room: not verified before, ok after, and push time per room', () => {
    expect(beforeVerify.totals.verify).toMatchObject({ verified: 0, ok: 0 });
    expect(beforeVerify.rooms.every((r) => r.verify === null)).toBe(true);
    expect(report.totals.verify).toMatchObject({ mismatch: 0, not_verified: 0, stale: 0 });
    expect(report.totals.verify.ok).toBe(report.rooms.length);
    for (const room of report.rooms) {
      expect(room.verify?.ok, room.key).toBe(true);
      expect(dom.rooms[room.key]!.verify, room.key).toBe('ok');
      expect(room.push.ms, room.key).toBeGreaterThan(0);
    }
    expect(report.slowest.length).toBeGreaterThan(0);
    expect(report.slowest[0]!.ms).toBeGreaterThanOrEqual(report.slowest.at(-1)!.ms);
  });

  it('reports the losses and the files of the fixture', () => {
    // The fixture's known skips and losses (test/sources/slack: the modern export).
    expect(report.lost.skipped).toMatchObject({ unsupported_entry: 2, unlisted_conversation: 1 });
    expect(report.lost.partial).toMatchObject({ file_hidden_by_limit: 1, edit_history: 1 });
    expect(dom.metrics['lost.skipped.unsupported_entry']).toEqual([2]);
    const general = report.rooms.find((r) => r.key === 'slack:C01GENERAL')!;
    expect(general.files.total).toBe(3);
    expect(general.files.uploaded).toBeGreaterThanOrEqual(1);
    expect(
      general.files.uploaded +
        general.files.linked +
        general.files.not_sent +
        Object.values(general.files.unavailable).reduce((a, b) => a + b, 0),
    ).toBe(3);
    expect(report.timeline.map((m) => m.month)).toEqual(['2024-03']);
    expect(report.timeline[0]!.messages).toBe(report.totals.messages);
  });

  it('refuses a report file in a folder that does not exist, without a stack trace', async () => {
    const r = await ferry('report', '--html', join(dir, 'missing', 'r.html'));
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(join(dir, 'missing'));
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });
});

/** Runs in the page (plain JS, no DOM types here): every data-metric figure, and the rooms table. */
const READ_DOM = `(() => {
  const value = (el) => Number((el.textContent ?? '').replaceAll(',', ''));
  const metrics = {};
  for (const el of document.querySelectorAll('[data-metric]')) {
    if (el.closest('tr[data-room]') !== null) continue;
    (metrics[el.getAttribute('data-metric')] ??= []).push(value(el));
  }
  const rooms = {};
  for (const tr of document.querySelectorAll('table.rooms tr[data-room]')) {
    const row = {};
    for (const el of tr.querySelectorAll('[data-metric]')) {
      const key = el.getAttribute('data-metric');
      if (key !== 'verify') row[key] = value(el);
    }
    row.name = tr.querySelector('td')?.firstChild?.textContent ?? '';
    row.verify = tr.querySelector('[data-metric="verify"]')?.textContent ?? '';
    rooms[tr.getAttribute('data-room')] = row;
  }
  const handlers = [...document.querySelectorAll('*')].filter((el) =>
    [...el.attributes].some((a) => a.name.startsWith('on'))).length;
  const csp = document.querySelector('meta[http-equiv="Content-Security-Policy"]')?.content ?? '';
  const external = document.querySelectorAll('[src], [href], [srcset], [action], link, iframe').length;
  return { metrics, rooms, csp, external, imgs: document.images.length, scripts: document.scripts.length, handlers };
})()`;
