import { readFileSync, writeFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { renderExampleConfig } from '../../src/cli/config-example.js';
import {
  configSchema,
  dropNulls,
  loadConfig,
  roomMergeMap,
  storeSelection,
} from '../../src/cli/config.js';
import { FerryError } from '../../src/errors.js';

describe('config', () => {
  it('config.example.yaml is current (regenerate with npm run gen:config)', () => {
    expect(readFileSync('config.example.yaml', 'utf8')).toBe(renderExampleConfig());
  });

  it('the example parses into the defaults', () => {
    expect(configSchema.parse(dropNulls(parse(renderExampleConfig())))).toEqual(
      configSchema.parse({}),
    );
  });

  it('names the file and the key of a bad value', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ferry-config-'));
    const path = join(dir, 'bad.yaml');
    writeFileSync(path, 'matrix:\n  concurrency: "lots"\n');
    expect(() => loadConfig(path)).toThrow(FerryError);
    expect(() => loadConfig(path)).toThrow(/bad\.yaml: .*concurrency/s);
    writeFileSync(path, 'unknownKey: 1\n');
    expect(() => loadConfig(path)).toThrow(/unknownKey/);
  });

  it('picks the store: flag, then DATABASE_URL, then the file, then embedded', () => {
    const config = configSchema.parse({ database: 'postgres://file/db' });
    expect(
      storeSelection({ database: 'postgres://flag/db' }, config, {
        DATABASE_URL: 'postgres://env/db',
      }).databaseUrl,
    ).toBe('postgres://flag/db');
    expect(storeSelection({}, config, { DATABASE_URL: 'postgres://env/db' }).databaseUrl).toBe(
      'postgres://env/db',
    );
    expect(storeSelection({}, config, {}).databaseUrl).toBe('postgres://file/db');
    expect(storeSelection({}, configSchema.parse({}), {})).toEqual({
      databaseUrl: undefined,
      dataDir: 'ferry-data',
    });
  });
});

describe('merge.rooms', () => {
  it('follows chains and drops self-mappings', () => {
    const config = configSchema.parse({
      merge: { rooms: { '!a:x': '!b:x', '!b:x': '!c:y', '!c:y': '!c:y', '!d:x': '!c:y' } },
    });
    expect([...roomMergeMap(config)]).toEqual([
      ['!a:x', '!c:y'],
      ['!b:x', '!c:y'],
      ['!d:x', '!c:y'],
    ]);
    expect(roomMergeMap(configSchema.parse({})).size).toBe(0);
  });

  it('rejects values that are not room IDs, and cycles', () => {
    expect(configSchema.safeParse({ merge: { rooms: { '!a:x': '#alias:x' } } }).success).toBe(
      false,
    );
    expect(configSchema.safeParse({ merge: { rooms: { 'a:x': '!b:x' } } }).success).toBe(false);
    const cycle = configSchema.safeParse({ merge: { rooms: { '!a:x': '!b:x', '!b:x': '!a:x' } } });
    expect(cycle.success).toBe(false);
    expect(JSON.stringify(cycle.error?.issues)).toMatch(/cycle/);
  });
});
