import { createHash, randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import type { Readable } from 'node:stream';
import { buffer as collect } from 'node:stream/consumers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import yauzl from 'yauzl';
import { FerryError } from '../../src/errors.js';
import type { Logger } from '../../src/logger.js';
import { isZipFile, openArchive, type ArchiveReader } from '../../src/archive/archive-reader.js';
import { buildZip, centralDirectory, type ZipItem } from '../support/zip-builder.js';
import { SHARED_FIXTURES } from '../support/shared-fixtures.js';

const FIXTURES = SHARED_FIXTURES;

let tmp: string;
beforeAll(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'ferry-archive-'));
});
afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
});

let counter = 0;
async function zipFile(items: ZipItem[], opts?: Parameters<typeof buildZip>[1]): Promise<string> {
  const file = join(tmp, `t${++counter}.zip`);
  await writeFile(file, await buildZip(items, opts));
  return file;
}

/** Writes `files` (path → content) below a fresh folder. */
async function folder(files: Record<string, string | Buffer>): Promise<string> {
  const root = join(tmp, `d${++counter}`);
  for (const [rel, data] of Object.entries(files)) {
    await mkdir(dirname(join(root, rel)), { recursive: true });
    await writeFile(join(root, rel), data);
  }
  await mkdir(root, { recursive: true });
  return root;
}

async function withArchive<T>(path: string, fn: (r: ArchiveReader) => T | Promise<T>): Promise<T> {
  const reader = await openArchive(path);
  try {
    return await fn(reader);
  } finally {
    await reader.close();
  }
}

async function ferryError(p: Promise<unknown>): Promise<FerryError> {
  try {
    await p;
  } catch (e) {
    if (e instanceof FerryError) return e;
    throw e;
  }
  throw new Error('expected a FerryError');
}

const paths = (r: ArchiveReader): string[] => r.entries().map((e) => e.path);
const openFds = (): number => readdirSync('/proc/self/fd').length;

const SLACK_FILES: Record<string, string> = {
  'users.json': '[{"id":"U1"}]',
  'channels.json': '[{"id":"C1","name":"general"}]',
  'general/2020-01-02.json': '[{"ts":"2"}]',
  'general/2020-01-01.json': '[{"ts":"1"}]',
  'random/2020-01-01.json': '[]',
};
const SLACK_ITEMS: ZipItem[] = Object.entries(SLACK_FILES).map(([name, data]) => ({ name, data }));
const SLACK_PATHS = [
  'channels.json',
  'general/2020-01-01.json',
  'general/2020-01-02.json',
  'random/2020-01-01.json',
  'users.json',
];

describe('openArchive on a zip', () => {
  it('lists files sorted, skips directories, reads buffers and streams', async () => {
    const file = await zipFile([...SLACK_ITEMS, { name: 'empty-dir', directory: true }]);
    await withArchive(file, async (r) => {
      expect(r.label).toBe(file);
      expect(paths(r)).toEqual(SLACK_PATHS);
      expect(r.entries().find((e) => e.path === 'users.json')?.size).toBe(13);
      expect(r.has('general/2020-01-01.json')).toBe(true);
      expect(r.has('general')).toBe(false);
      expect((await r.readBuffer('channels.json')).toString()).toBe(SLACK_FILES['channels.json']);
      const s = await r.openStream('general/2020-01-02.json');
      expect((await collect(s)).toString()).toBe('[{"ts":"2"}]');
      const missing = await ferryError(r.readBuffer('nope.json'));
      expect(missing.code).toBe('input_not_found');
      expect(missing.message).toContain('nope.json');
    });
  });

  it('reads stored (uncompressed) entries and ZIP64 archives', async () => {
    const stored = await zipFile(SLACK_ITEMS.map((i) => ({ ...i, compress: false })));
    await withArchive(stored, async (r) => {
      expect((await r.readBuffer('users.json')).toString()).toBe(SLACK_FILES['users.json']);
    });
    const z64 = await zipFile(SLACK_ITEMS, { zip64: true });
    await withArchive(z64, async (r) => {
      expect(paths(r)).toEqual(SLACK_PATHS);
      expect((await r.readBuffer('random/2020-01-01.json')).toString()).toBe('[]');
    });
  });

  it('unwraps a single wrapper folder and drops files outside it', async () => {
    const file = await zipFile([
      { name: 'README.txt', data: 'hi' },
      ...SLACK_ITEMS.map((i) => ({ ...i, name: `My Export/${i.name as string}` })),
    ]);
    await withArchive(file, async (r) => {
      expect(paths(r)).toEqual(SLACK_PATHS);
      expect((await r.readBuffer('users.json')).toString()).toBe(SLACK_FILES['users.json']);
    });
  });

  it('keeps the top level when two folders look like exports, and honours rootMarkers', async () => {
    const file = await zipFile([
      { name: 'a/users.json', data: '[]' },
      { name: 'b/users.json', data: '[]' },
      { name: 'b/export.json', data: '{}' },
    ]);
    await withArchive(file, (r) => {
      expect(paths(r)).toEqual(['a/users.json', 'b/export.json', 'b/users.json']);
    });
    const r = await openArchive(file, { rootMarkers: ['export.json'] });
    expect(paths(r)).toEqual(['export.json', 'users.json']);
    await r.close();
  });

  it('skips __MACOSX and .DS_Store silently, also inside a wrapper', async () => {
    const file = await zipFile([
      ...SLACK_ITEMS.map((i) => ({ ...i, name: `wrap/${i.name as string}` })),
      { name: 'wrap/.DS_Store', data: 'x' },
      { name: 'wrap/general/.DS_Store', data: 'x' },
      { name: '__MACOSX/wrap/._users.json', data: 'x' },
      { name: '__MACOSX/wrap/general/._2020-01-01.json', data: 'x' },
    ]);
    await withArchive(file, (r) => {
      expect(paths(r)).toEqual(SLACK_PATHS);
    });
  });

  it('decodes UTF-8 names stored without the UTF-8 flag (as Slack writes them)', async () => {
    const names = ['général/2020-01-01.json', '日本語/2020-01-01.json', 'channels.json'];
    const buf = await buildZip(
      names.map((n) => ({ name: n, data: n })),
      { clearUtf8Flag: true },
    );
    // The flag really is clear: yauzl's own decoding would produce CP437 mojibake.
    expect(centralDirectory(buf).every((rec) => (rec.flags & 0x800) === 0)).toBe(true);
    const naive = await yauzl.fromBufferPromise(buf);
    const naiveNames: string[] = [];
    for await (const e of naive.eachEntry()) naiveNames.push(e.fileName);
    expect(naiveNames).toContain('g├⌐n├⌐ral/2020-01-01.json');

    const file = join(tmp, 'noflag.zip');
    await writeFile(file, buf);
    await withArchive(file, async (r) => {
      expect(paths(r)).toEqual([
        'channels.json',
        'général/2020-01-01.json',
        '日本語/2020-01-01.json',
      ]);
      expect((await r.readBuffer('日本語/2020-01-01.json')).toString()).toBe(
        '日本語/2020-01-01.json',
      );
      // NFD spelling of the same name finds the NFC entry.
      expect(r.has('ge\u0301ne\u0301ral/2020-01-01.json')).toBe(true);
    });
  });

  it('decodes a CP437 name and NFC-normalises NFD UTF-8 names', async () => {
    const cp437 = Buffer.concat([Buffer.from('caf'), Buffer.from([0x82]), Buffer.from('/x.json')]);
    const file = await zipFile(
      [
        { name: cp437, data: 'cp437' },
        { name: Buffer.from('nai\u0308ve/x.json'), data: 'nfd' },
      ],
      { clearUtf8Flag: true },
    );
    await withArchive(file, async (r) => {
      expect(paths(r)).toEqual(['café/x.json', 'na\u00efve/x.json']);
      expect((await r.readBuffer('café/x.json')).toString()).toBe('cp437');
    });
  });

  it.each([
    ['../evil.json', Buffer.from('../evil.json')],
    ['/abs.json', Buffer.from('/abs.json')],
    ['..\\evil.json', Buffer.from('..\\evil.json')],
    ['C:/win.json', Buffer.from('C:/win.json')],
  ])('rejects the whole archive when an entry is %s', async (label, raw) => {
    const file = await zipFile([...SLACK_ITEMS, { name: raw, data: 'x' }]);
    const before = openFds();
    const err = await ferryError(openArchive(file));
    expect(err.code).toBe('input_invalid');
    expect(err.message).toBe(`${file}: entry ${label} tries to escape the export folder`);
    expect(openFds()).toBe(before);
  });

  it('rejects a truncated zip as input_invalid naming the file', async () => {
    const full = await buildZip(SLACK_ITEMS);
    const file = join(tmp, 'truncated.zip');
    await writeFile(file, full.subarray(0, Math.floor(full.length / 2)));
    const before = openFds();
    const err = await ferryError(openArchive(file));
    expect(err.code).toBe('input_invalid');
    expect(err.message).toMatch(/truncated\.zip: not a readable zip archive \(.+\)$/);
    expect(openFds()).toBe(before);
  });

  it('rejects a zip whose central directory is damaged', async () => {
    const buf = await buildZip(SLACK_ITEMS);
    const first = centralDirectory(buf)[0]!;
    buf.writeUInt32LE(0xdeadbeef, first.cdOffset);
    const file = join(tmp, 'badcd.zip');
    await writeFile(file, buf);
    const err = await ferryError(openArchive(file));
    expect(err.code).toBe('input_invalid');
    expect(err.message).toContain('badcd.zip: not a readable zip archive');
  });

  it('reports a corrupt deflated entry as input_invalid naming the entry', async () => {
    const big = Buffer.from(JSON.stringify(Array.from({ length: 2000 }, (_, i) => ({ ts: i }))));
    const buf = await buildZip([...SLACK_ITEMS, { name: 'general/2020-02-02.json', data: big }]);
    const rec = centralDirectory(buf).find((r) => r.name.toString() === 'general/2020-02-02.json')!;
    const mid = rec.dataStart + Math.floor(rec.compressedSize / 2);
    for (let i = 0; i < 16; i++) buf[mid + i] = (buf[mid + i] ?? 0) ^ 0xff;
    const file = join(tmp, 'corrupt-entry.zip');
    await writeFile(file, buf);
    await withArchive(file, async (r) => {
      const err = await ferryError(r.readBuffer('general/2020-02-02.json'));
      expect(err.code).toBe('input_invalid');
      expect(err.message).toMatch(
        /corrupt-entry\.zip: entry general\/2020-02-02\.json is corrupt \(.+\)$/,
      );
      // Other entries are still readable.
      expect((await r.readBuffer('users.json')).toString()).toBe(SLACK_FILES['users.json']);
      // The stream flavour emits the same error.
      const s = await r.openStream('general/2020-02-02.json');
      const streamErr = await ferryError(collect(s));
      expect(streamErr.message).toContain('entry general/2020-02-02.json is corrupt');
    });
  });

  it('catches a flipped byte in a stored entry through the CRC', async () => {
    const buf = await buildZip([{ name: 'users.json', data: '[{"id":"U1"}]', compress: false }]);
    const rec = centralDirectory(buf)[0]!;
    buf[rec.dataStart + 3] = 0x21;
    const file = join(tmp, 'crc.zip');
    await writeFile(file, buf);
    await withArchive(file, async (r) => {
      const err = await ferryError(r.readBuffer('users.json'));
      expect(err.code).toBe('input_invalid');
      expect(err.message).toBe(`${file}: entry users.json is corrupt (CRC-32 mismatch)`);
    });
  });

  it('skips symbolic links stored in the zip', async () => {
    const warnings: string[] = [];
    const logger: Logger = {
      debug: () => undefined,
      info: () => undefined,
      warn: (_o, msg) => warnings.push(msg ?? ''),
      error: () => undefined,
      child: () => logger,
    };
    const file = await zipFile([
      ...SLACK_ITEMS,
      { name: 'link.json', data: '/etc/passwd', mode: 0o120777 },
    ]);
    const r = await openArchive(file, { logger });
    expect(paths(r)).toEqual(SLACK_PATHS);
    expect(warnings.join()).toContain('symbolic link');
    await r.close();
  });

  it('reads 2000 entries sequentially with one file descriptor', async () => {
    const items: ZipItem[] = Array.from({ length: 2000 }, (_, i) => ({
      name: `general/${String(i).padStart(5, '0')}.json`,
      data: `[{"ts":"${i}"}]`,
    }));
    const file = await zipFile([{ name: 'channels.json', data: '[]' }, ...items]);
    const before = openFds();
    const r = await openArchive(file);
    expect(openFds()).toBe(before + 1);
    let total = 0;
    for (const e of r.entries()) total += (await r.readBuffer(e.path)).length;
    expect(total).toBe(r.entries().reduce((n, e) => n + e.size, 0));
    // Abandoned streams are released by close() too.
    await r.openStream('general/00001.json');
    expect(openFds()).toBe(before + 1);
    await r.close();
    expect(openFds()).toBe(before);
    await r.close();
    await expect(r.readBuffer('channels.json')).rejects.toThrow(/closed/);
  });

  it('survives a stream abandoned mid-read while other entries are read', async () => {
    // yauzl 3.4.0's own fd backend crashes the process in this situation (see fd-reader.ts).
    const small: ZipItem[] = Array.from({ length: 50 }, (_, i) => ({
      name: `general/${i}.json`,
      data: `[${i}]`,
    }));
    const big = randomBytes(4 * 1024 * 1024);
    const file = await zipFile([
      { name: 'big.bin', data: big, compress: false },
      { name: 'big.json', data: big },
      ...small,
    ]);
    const before = openFds();
    const r = await openArchive(file);
    for (const name of ['big.bin', 'big.json']) {
      const s = (await r.openStream(name)) as Readable;
      await new Promise((resolve) => s.once('data', resolve));
      const reads = small.map((i) => r.readBuffer(i.name as string));
      s.destroy();
      expect((await Promise.all(reads)).map((b) => b.toString())).toEqual(small.map((i) => i.data));
    }
    // Streams left open (one paused mid-way, one never read) are released by close().
    const paused = (await r.openStream('big.bin')) as Readable;
    await new Promise((resolve) => paused.once('data', resolve));
    paused.pause();
    await r.openStream('big.json');
    await r.close();
    expect(openFds()).toBe(before);
  });

  it('streams a 5 MB entry', async () => {
    const data = Buffer.concat([randomBytes(2 * 1024 * 1024), Buffer.alloc(3 * 1024 * 1024, 'a')]);
    const file = await zipFile([{ name: 'export.json', data }]);
    await withArchive(file, async (r) => {
      const got = await collect(await r.openStream('export.json'));
      expect(got.length).toBe(data.length);
      expect(createHash('sha256').update(got).digest('hex')).toBe(
        createHash('sha256').update(data).digest('hex'),
      );
    });
  });

  it('reads the real Slack fixture testarchive-2016.zip', async () => {
    await withArchive(join(FIXTURES, 'slack/testarchive-2016.zip'), async (r) => {
      // 22 zip entries, two of which are directory entries.
      expect(r.entries()).toHaveLength(20);
      expect(r.has('channels.json')).toBe(true);
      expect(r.has('users.json')).toBe(true);
      expect(r.has('integration_logs.json')).toBe(true);
      const days = (dir: string): string[] =>
        paths(r)
          .filter((p) => p.startsWith(`${dir}/`))
          .map((p) => p.slice(dir.length + 1));
      expect(days('enrique')).toEqual([
        '2016-01-14.json',
        '2016-01-15.json',
        '2016-01-16.json',
        '2016-02-07.json',
        '2016-02-08.json',
        '2016-03-17.json',
        '2016-03-25.json',
        '2016-03-26.json',
        '2016-03-28.json',
      ]);
      expect(days('traveling-sailor')).toHaveLength(8);
      for (const e of r.entries()) {
        const buf = await r.readBuffer(e.path);
        expect(buf.length).toBe(e.size);
        expect(() => JSON.parse(buf.toString('utf8')) as unknown).not.toThrow();
      }
      const channels = JSON.parse((await r.readBuffer('channels.json')).toString()) as {
        name: string;
      }[];
      expect(channels.map((c) => c.name).sort()).toEqual(['enrique', 'traveling-sailor']);
    });
  });
});

describe('openArchive on a folder', () => {
  it('lists the same entries as the zip of the same content', async () => {
    const dir = await folder({ ...SLACK_FILES, 'empty/.keep-me-out/.DS_Store': 'x' });
    await mkdir(join(dir, 'really-empty'));
    await withArchive(dir, async (r) => {
      expect(r.label).toBe(dir);
      expect(paths(r)).toEqual(SLACK_PATHS);
      expect(r.entries().find((e) => e.path === 'users.json')?.size).toBe(13);
      expect((await r.readBuffer('general/2020-01-01.json')).toString()).toBe('[{"ts":"1"}]');
      expect((await collect(await r.openStream('users.json'))).toString()).toBe(
        SLACK_FILES['users.json'],
      );
      expect((await ferryError(r.readBuffer('nope.json'))).code).toBe('input_not_found');
    });
  });

  it('unwraps a wrapper folder and skips __MACOSX / .DS_Store', async () => {
    const files: Record<string, string> = { 'README.md': 'x', '.DS_Store': 'x' };
    for (const [k, v] of Object.entries(SLACK_FILES)) files[`slack-export/${k}`] = v;
    files['slack-export/general/.DS_Store'] = 'x';
    files['__MACOSX/slack-export/._users.json'] = 'x';
    const dir = await folder(files);
    await withArchive(dir, async (r) => {
      expect(paths(r)).toEqual(SLACK_PATHS);
      expect((await r.readBuffer('channels.json')).toString()).toBe(SLACK_FILES['channels.json']);
    });
  });

  it('NFC-normalises names stored as NFD', async () => {
    const dir = await folder({
      'channels.json': '[]',
      'ge\u0301ne\u0301ral/2020-01-01.json': '[]',
    });
    await withArchive(dir, async (r) => {
      expect(paths(r)).toEqual(['channels.json', 'général/2020-01-01.json']);
      expect((await r.readBuffer('général/2020-01-01.json')).toString()).toBe('[]');
    });
  });

  it('follows symlinks inside the folder and skips those that leave it', async () => {
    const outside = await folder({ 'secret.json': '"secret"' });
    const dir = await folder(SLACK_FILES);
    await symlink(join(outside, 'secret.json'), join(dir, 'secret.json'));
    await symlink(outside, join(dir, 'outside-dir'));
    await symlink('general', join(dir, 'general-alias'));
    await symlink('../users.json', join(dir, 'general', 'users-link.json'));
    await symlink('..', join(dir, 'random', 'loop'));
    await symlink('does-not-exist', join(dir, 'dangling.json'));
    await withArchive(dir, async (r) => {
      expect(paths(r)).toEqual([
        'channels.json',
        'general-alias/2020-01-01.json',
        'general-alias/2020-01-02.json',
        'general-alias/users-link.json',
        'general/2020-01-01.json',
        'general/2020-01-02.json',
        'general/users-link.json',
        'random/2020-01-01.json',
        'users.json',
      ]);
      expect((await r.readBuffer('general/users-link.json')).toString()).toBe(
        SLACK_FILES['users.json'],
      );
    });
  });

  it('releases streams on close', async () => {
    const dir = await folder(SLACK_FILES);
    const before = openFds();
    const r = await openArchive(dir);
    const s = await r.openStream('users.json');
    expect(openFds()).toBe(before + 1);
    await r.close();
    await new Promise((resolve) => s.on('close', resolve));
    expect(openFds()).toBe(before);
    await expect(r.readBuffer('users.json')).rejects.toThrow(/closed/);
  });
});

describe('openArchive input errors', () => {
  it('reports a missing path as input_not_found', async () => {
    const missing = join(tmp, 'nope.zip');
    const err = await ferryError(openArchive(missing));
    expect(err.code).toBe('input_not_found');
    expect(err.message).toBe(`${missing}: no such file or folder`);
  });

  it('reports a text file (or an empty file) as input_unsupported', async () => {
    const text = join(tmp, 'notes.txt');
    await writeFile(text, 'this is not a zip\n'.repeat(10));
    const err = await ferryError(openArchive(text));
    expect(err.code).toBe('input_unsupported');
    expect(err.message).toBe(`${text} is neither a zip file nor a folder`);
    const empty = join(tmp, 'empty.zip');
    await writeFile(empty, '');
    expect((await ferryError(openArchive(empty))).code).toBe('input_unsupported');
  });

  it('isZipFile recognises zips only', async () => {
    const file = await zipFile(SLACK_ITEMS);
    const json = join(tmp, 'export.json');
    await writeFile(json, '{}');
    expect(await isZipFile(file)).toBe(true);
    expect(await isZipFile(json)).toBe(false);
    expect(await isZipFile(tmp)).toBe(false);
    expect(await isZipFile(join(tmp, 'missing'))).toBe(false);
    expect((await readFile(file)).subarray(0, 2).toString()).toBe('PK');
  });
});
