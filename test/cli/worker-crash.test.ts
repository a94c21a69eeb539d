/**
 * A crash inside a day-file worker thread, provoked by real input: JSON nested 100,000 deep
 * parses (JSON.parse is iterative) but overflows the stack of whatever walks it recursively.
 * In `blocks` the worker's own row encoder (JSON.stringify) throws while mapping; in a
 * placeholder's `user_profile` the worker's postMessage (structured clone) throws outside any
 * handler and the thread dies. Either way the CLI exits 1 with one line naming the day file;
 * the stack is only in the debug log.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { copyFixture } from '../support/fixture-copy.js';
import { runCli } from '../support/run-cli.js';

const DEPTH = 100_000;
const nested = `${'['.repeat(DEPTH)}${']'.repeat(DEPTH)}`;

/** The modern fixture with enough day files for the workers to start, one of them `bad`. */
function exportWith(bad: string): string {
  const dir = copyFixture('test/fixtures/slack/modern');
  for (let d = 1; d <= 31; d++) {
    const day = `2023-01-${String(d).padStart(2, '0')}`;
    const ts = `${1672531200 + d * 86400}.000100`;
    writeFileSync(
      join(dir, 'general', `${day}.json`),
      JSON.stringify([{ type: 'message', user: 'U01ALICE', text: `day ${d}`, ts }]),
    );
  }
  writeFileSync(join(dir, 'general', '2023-02-01.json'), bad);
  return dir;
}

const DEEP_BLOCKS = `[{"type":"message","user":"U01ALICE","text":"deep","ts":"1675000000.000100","blocks":${nested}}]`;
const DEEP_PROFILE = `[{"type":"message","user":"U0NOTLISTED","text":"deep","ts":"1675000000.000100","user_profile":{"real_name":"Deep","x":${nested}}}]`;

function expectOneLine(stderr: string): void {
  const lines = stderr.trimEnd().split('\n');
  expect(lines, stderr.slice(0, 2000)).toHaveLength(1);
  expect(lines[0]).toMatch(/^ferry: .*worker.*modern: general\/2023-02-01\.json/);
  expect(stderr).not.toMatch(/\n\s+at /); // no stack frames
}

describe('a crash in a day-file worker', () => {
  it('that throws while mapping a file: exit 1, one line naming the file', async () => {
    const dir = exportWith(DEEP_BLOCKS);
    const dataDir = join(dir, '..', 'store');
    const r = await runCli(['--data-dir', dataDir, 'ingest', 'slack', dir, '--workers', '1']);
    expect(r.code).toBe(1);
    expectOneLine(r.stderr);
    expect(r.stderr).toContain('Maximum call stack size exceeded');
    // The transaction was rolled back: the store holds nothing of the export.
    const status = await runCli(['--data-dir', dataDir, 'status', '--json']);
    expect(status.code, status.stderr).toBe(0);
    const held = JSON.parse(status.stdout) as { sources: unknown[]; events: object };
    expect(held.sources).toEqual([]);
    expect(held.events).toEqual({});
  });

  it('that kills the thread: exit 1, one line naming the file; the trace at debug', async () => {
    const dir = exportWith(DEEP_PROFILE);
    const r = await runCli(['check', dir, '--workers', '1', '--json']);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expectOneLine(r.stderr);

    const debug = await runCli(['--log-level', 'debug', 'check', dir, '--workers', '1']);
    expect(debug.code).toBe(1);
    const lines = debug.stderr.trimEnd().split('\n');
    const human = lines.filter((l) => !l.startsWith('{'));
    expect(human).toHaveLength(1);
    expect(human[0]).toMatch(/modern: general\/2023-02-01\.json/);
    const logged = lines
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as { level: number; file?: string; stack?: string });
    const crash = logged.find((l) => l.stack !== undefined);
    expect(crash?.level).toBe(20); // debug
    expect(crash?.file).toMatch(/modern: general\/2023-02-01\.json/);
    expect(crash?.stack).toMatch(/RangeError: Maximum call stack size exceeded\n\s+at /);
  });
});
