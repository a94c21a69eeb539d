/**
 * Reading archive entries ahead of their consumer: while one day file is parsed and mapped on
 * the main thread, the next ones are already being read and inflated on libuv's thread pool.
 */

/**
 * Yields `[key, result]` for each key in order, `result` being `read(key)`. Up to `depth`
 * reads beyond the one being consumed are in flight; a failed read rejects only its own
 * promise, when it is awaited (so a caller can skip a bad entry and go on). Memory: `depth + 1`
 * results at most.
 */
export function* readAhead<K, T>(
  keys: readonly K[],
  read: (key: K) => Promise<T>,
  depth = 2,
): Generator<[K, Promise<T>]> {
  const queue: Promise<T>[] = [];
  let started = 0;
  for (let i = 0; i < keys.length; i++) {
    while (started < keys.length && started <= i + depth) {
      const reading = read(keys[started] as K);
      // Handled when awaited; this only keeps an unawaited failure from being "unhandled".
      reading.catch(() => undefined);
      queue.push(reading);
      started++;
    }
    yield [keys[i] as K, queue.shift() as Promise<T>];
  }
}
