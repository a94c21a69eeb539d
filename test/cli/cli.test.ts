import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateSlackExport } from '../../bench/generate-slack-export.js';
import { createPostgresDatabase } from '../support/databases.js';
import { runCli } from '../support/run-cli.js';
import { buildZip } from '../support/zip-builder.js';

const MODERN = 'test/fixtures/slack/modern';
const tmp = mkdtempSync(join(tmpdir(), 'ferry-cli-'));

describe('ferry CLI', () => {
  it('check --json reports the documented keys and writes nothing', async () => {
    const dataDir = join(tmp, 'never-created');
    const r = await runCli(['--data-dir', dataDir, 'check', MODERN, '--json']);
    expect(r.code).toBe(0);
    const summary = JSON.parse(r.stdout) as Record<string, unknown>;
    expect(Object.keys(summary)).toEqual(
      expect.arrayContaining([
        'users',
        'rooms',
        'events',
        'skipped',
        'lost',
        'files',
        'date_range',
      ]),
    );
    expect(summary.rooms).toEqual({ channel: 2, private: 1, dm: 2, group_dm: 1, space: 1 });
    expect(summary.users).toBe(8);
    const { existsSync } = await import('node:fs');
    expect(existsSync(dataDir)).toBe(false);
    expect(r.stdout).not.toContain('xoxe');
  });

  it('takes --workers, refusing a count that is not a whole number', async () => {
    const bad = await runCli(['check', MODERN, '--workers', 'two', '--json']);
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toMatch(/--workers.*whole number from 0 to 64/);
    expect(bad.stderr).not.toMatch(/\bat .*\.ts:\d+/); // no stack trace
    // Enough day files for the workers to start (the bin's own loader runs them).
    const zip = join(tmp, 'generated.zip');
    await generateSlackExport({ messages: 4000, out: zip, seed: 3, messagesPerConversation: 400 });
    const inline = await runCli(['check', zip, '--workers', '0', '--json']);
    const pooled = await runCli(['check', zip, '--workers', '2', '--json']);
    expect(inline.code).toBe(0);
    expect(pooled.code).toBe(0);
    const summary = JSON.parse(pooled.stdout) as { events: { message?: number } };
    expect(summary.events.message).toBeGreaterThan(1000);
    expect(summary).toEqual(JSON.parse(inline.stdout));
  });

  describe('against PostgreSQL', () => {
    let db: Awaited<ReturnType<typeof createPostgresDatabase>>;
    beforeAll(async () => {
      db = await createPostgresDatabase();
    });
    afterAll(async () => {
      await db.drop();
    });

    it('ingests with --database, re-ingests adding nothing, and reports status', async () => {
      const first = await runCli(['--database', db.url, 'ingest', 'slack', MODERN, '--json']);
      expect(first.code, first.stderr).toBe(0);
      const a = JSON.parse(first.stdout) as {
        added: { events: number };
        existing: { events: number };
      };
      expect(a.added.events).toBe(37);
      const second = await runCli(['ingest', 'slack', MODERN, '--json'], { DATABASE_URL: db.url });
      const b = JSON.parse(second.stdout) as {
        added: { events: number };
        existing: { events: number };
      };
      expect(b.added.events).toBe(0);
      expect(b.existing.events).toBe(37);
      const status = await runCli(['--database', db.url, 'status', '--json']);
      const s = JSON.parse(status.stdout) as {
        store: { backend: string };
        events: Record<string, number>;
      };
      expect(s.store.backend).toBe('postgres');
      expect(Object.values(s.events).reduce((x, y) => x + y, 0)).toBe(37);
    });
  });

  describe('bad input gets a clear message, an exit code and no stack trace', () => {
    const cases: [string, () => string, RegExp][] = [
      [
        'a path that does not exist',
        () => join(tmp, 'nope.zip'),
        /nope\.zip: no such file or folder/,
      ],
      [
        'a file that is not a zip',
        () => {
          const p = join(tmp, 'notes.txt');
          writeFileSync(p, 'hello');
          return p;
        },
        /neither a zip file nor a folder/,
      ],
      [
        'a truncated zip',
        () => {
          const p = join(tmp, 'truncated.zip');
          writeFileSync(p, Buffer.from('PK\u0003\u0004 this is not the rest of a zip'));
          return p;
        },
        /truncated\.zip: not a readable zip archive/,
      ],
      [
        'a folder without users.json',
        () => mkdtempSync(join(tmp, 'empty-')),
        /users\.json is missing/,
      ],
    ];
    for (const [name, make, message] of cases) {
      it(name, async () => {
        const r = await runCli(['--data-dir', join(tmp, 'store'), 'ingest', 'slack', make()]);
        expect(r.code).toBe(2);
        expect(r.stderr).toMatch(message);
        expect(r.stderr).not.toMatch(/\n\s+at /);
      });
    }

    it('a zip entry trying to escape the export folder', async () => {
      const p = join(tmp, 'escape.zip');
      writeFileSync(
        p,
        await buildZip([
          { name: 'users.json', data: '[]' },
          { name: Buffer.from('../../etc/evil.json'), data: '[]' },
        ]),
      );
      const r = await runCli(['check', p]);
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(/evil\.json tries to escape the export folder/);
    });

    it('an unreachable database, without echoing its password', async () => {
      const r = await runCli(['--database', 'postgres://u:s3cret@127.0.0.1:1/x', 'status']);
      expect(r.code).toBe(3);
      expect(r.stderr).toMatch(/cannot open the store/);
      expect(r.stderr).not.toContain('s3cret');
    });
  });
});
