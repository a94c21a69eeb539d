import { describe, expect, it } from 'vitest';
import { readAhead } from '../../src/archive/read-ahead.js';

describe('readAhead', () => {
  it('yields every entry in order, with at most depth reads beyond the current one started', async () => {
    const started: string[] = [];
    const read = (path: string) => {
      started.push(path);
      return Promise.resolve(Buffer.from(path));
    };
    const seen: string[] = [];
    for (const [path, bytes] of readAhead(['a', 'b', 'c', 'd', 'e'], read, 2)) {
      // When entry i is handed out, entries up to i + 2 have been started, never more.
      expect(started).toEqual(['a', 'b', 'c', 'd', 'e'].slice(0, Math.min(5, seen.length + 3)));
      seen.push(`${path}=${(await bytes).toString()}`);
    }
    expect(seen).toEqual(['a=a', 'b=b', 'c=c', 'd=d', 'e=e']);
  });

  it('rejects only the failed entry, when it is awaited, and goes on with the next', async () => {
    const read = (path: string) =>
      path === 'bad' ? Promise.reject(new Error('corrupt')) : Promise.resolve(Buffer.from(path));
    const results: string[] = [];
    for (const [path, bytes] of readAhead(['x', 'bad', 'y'], read)) {
      // Give the failing read time to settle before it is awaited: no unhandled rejection.
      await new Promise((r) => setTimeout(r, 5));
      results.push(
        await bytes.then((b) => b.toString()).catch((e: Error) => `${path}: ${e.message}`),
      );
    }
    expect(results).toEqual(['x', 'bad: corrupt', 'y']);
  });
});
