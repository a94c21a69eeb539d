/**
 * Reading archive entries ahead of their consumer: while one day file is parsed and mapped on
 * the main thread, the next ones are already being read and inflated on libuv's thread pool.
 */

/**
 * Yields `[path, bytes]` for each path in order. Up to `depth` reads beyond the one being
 * consumed are in flight; a failed read rejects only its own promise, when it is awaited (so a
 * caller can skip a bad entry and go on). Memory: `depth + 1` entries at most.
 */
export function* readAhead(
  paths: readonly string[],
  read: (path: string) => Promise<Buffer>,
  depth = 2,
): Generator<[string, Promise<Buffer>]> {
  const queue: Promise<Buffer>[] = [];
  let started = 0;
  for (let i = 0; i < paths.length; i++) {
    while (started < paths.length && started <= i + depth) {
      const reading = read(paths[started] as string);
      // Handled when awaited; this only keeps an unawaited failure from being "unhandled".
      reading.catch(() => undefined);
      queue.push(reading);
      started++;
    }
    yield [paths[i] as string, queue.shift() as Promise<Buffer>];
  }
}
