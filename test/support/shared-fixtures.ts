/**
 * The fixtures in `shared/fixtures`, which sits beside the checkout in development and in CI.
 * `$FERRY_FIXTURES` points elsewhere (a clone outside that layout).
 */
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const SHARED_FIXTURES =
  process.env.FERRY_FIXTURES ?? fileURLToPath(new URL('../../../shared/fixtures', import.meta.url));

/** The path of `shared/fixtures/<relative>`. */
export function sharedFixture(relative: string): string {
  return join(SHARED_FIXTURES, relative);
}
