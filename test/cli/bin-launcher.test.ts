/**
 * bin/ferry.js picks what to run: the compiled dist/ when it is current, the sources (through
 * tsx) when dist/ is missing or older than them, saying so, and a one-line error when neither
 * can run. Each case runs the real launcher in a throwaway package layout.
 */
import { execFile } from 'node:child_process';
import {
  copyFileSync,
  mkdirSync,
  mkdtempSync,
  rmSync,
  symlinkSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';

const REPO = fileURLToPath(new URL('../..', import.meta.url));
const dirs: string[] = [];

function layout(opts: { dist: boolean; src: boolean; tsx: boolean }): string {
  const dir = mkdtempSync(join(tmpdir(), 'ferry-bin-'));
  dirs.push(dir);
  mkdirSync(join(dir, 'bin'));
  copyFileSync(join(REPO, 'bin', 'ferry.js'), join(dir, 'bin', 'ferry.js'));
  writeFileSync(join(dir, 'package.json'), '{"type":"module"}');
  if (opts.tsx) symlinkSync(join(REPO, 'node_modules'), join(dir, 'node_modules'));
  if (opts.src) {
    mkdirSync(join(dir, 'src', 'cli'), { recursive: true });
    writeFileSync(
      join(dir, 'src', 'cli', 'main.ts'),
      "const from: string = 'src';\nconsole.log(from);\n",
    );
  }
  if (opts.dist) {
    mkdirSync(join(dir, 'dist', 'src', 'cli'), { recursive: true });
    writeFileSync(join(dir, 'dist', 'src', 'cli', 'main.js'), "console.log('dist');\n");
  }
  return dir;
}

function touch(path: string, secondsAgo: number): void {
  const t = new Date(Date.now() - secondsAgo * 1000);
  utimesSync(path, t, t);
}

function run(dir: string): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [join(dir, 'bin', 'ferry.js')],
      { cwd: dir },
      (error, stdout, stderr) => {
        resolve({ code: error === null ? 0 : Number(error.code ?? 1), stdout, stderr });
      },
    );
  });
}

afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

describe('bin/ferry.js', () => {
  it('runs dist/ when it is newer than the sources, silently', async () => {
    const dir = layout({ dist: true, src: true, tsx: true });
    touch(join(dir, 'src', 'cli', 'main.ts'), 60);
    const r = await run(dir);
    expect(r).toEqual({ code: 0, stdout: 'dist\n', stderr: '' });
  });

  it('runs the sources, and says so, when a source is newer than dist/', async () => {
    const dir = layout({ dist: true, src: true, tsx: true });
    touch(join(dir, 'dist', 'src', 'cli', 'main.js'), 60);
    const r = await run(dir);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe('src\n');
    expect(r.stderr).toContain('dist/ is older than src/');
  });

  it('runs the sources when there is no dist/', async () => {
    const r = await run(layout({ dist: false, src: true, tsx: true }));
    expect(r).toEqual({ code: 0, stdout: 'src\n', stderr: '' });
  });

  it('fails with one line when there is no dist/ and no tsx', async () => {
    const r = await run(layout({ dist: false, src: true, tsx: false }));
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toContain('npm run build');
  });

  it('runs a published package (dist/, no sources) without looking further', async () => {
    const r = await run(layout({ dist: true, src: false, tsx: false }));
    expect(r).toEqual({ code: 0, stdout: 'dist\n', stderr: '' });
  });
});
