import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FerryError } from '../../src/errors.js';
import { openArchive } from '../../src/archive/archive-reader.js';
import type { ArchiveReader } from '../../src/archive/archive-reader.js';
import { jsonArrayEntry } from '../../src/archive/json-reader.js';
import { buildZip } from '../support/zip-builder.js';

const users = [{ id: 'U1', name: 'ünïcödé' }, { id: 'U2' }, 3, null];

async function drain(items: AsyncIterable<unknown>): Promise<unknown[]> {
  const out: unknown[] = [];
  for await (const item of items) out.push(item);
  return out;
}

describe('jsonArrayEntry', () => {
  let dir: string;
  let reader: ArchiveReader;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'ferry-json-'));
    const zip = join(dir, 'export.zip');
    await writeFile(
      zip,
      await buildZip([
        { name: 'users.json', data: JSON.stringify(users, null, 4) },
        { name: 'object.json', data: '{"members": []}' },
        { name: 'broken.json', data: '[{"id": "U1"},\n  {"id": ' },
      ]),
    );
    reader = await openArchive(zip);
  });
  afterAll(async () => {
    await reader.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('gives the same elements whether the entry is parsed whole or streamed', async () => {
    expect(await drain(jsonArrayEntry(reader, 'users.json'))).toEqual(users);
    expect(await drain(jsonArrayEntry(reader, 'users.json', 0))).toEqual(users);
  });

  it.each([
    ['parsed whole', undefined],
    ['streamed', 0],
  ])('names the entry when it is not an array (%s)', async (_, limit) => {
    const err = await drain(jsonArrayEntry(reader, 'object.json', limit)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(FerryError);
    expect((err as FerryError).message).toMatch(/object\.json is not a valid JSON array/);
  });

  it.each([
    ['parsed whole', undefined],
    ['streamed', 0],
  ])('names the entry when it is not valid JSON (%s)', async (_, limit) => {
    const err = await drain(jsonArrayEntry(reader, 'broken.json', limit)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(FerryError);
    expect((err as FerryError).message).toMatch(/broken\.json is not (a )?valid JSON/);
  });
});
