/** The CLI's logger: pino, JSON lines on stderr, so stdout stays free for reports. */
import { pino } from 'pino';
import type { Logger } from '../logger.js';

export function createCliLogger(level: string): Logger {
  return pino(
    {
      level,
      base: undefined,
      redact: {
        paths: ['as_token', 'hs_token', 'token', '*.as_token', '*.hs_token', '*.token'],
        censor: 'REDACTED',
      },
    },
    pino.destination(2),
  );
}
