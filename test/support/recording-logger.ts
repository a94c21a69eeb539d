import type { Logger } from '../../src/logger.js';

export interface LogEntry {
  level: string;
  obj: object;
  msg: string | undefined;
}

/** A logger that keeps every line, so tests can assert on what was (not) logged. */
export function recordingLogger(
  entries: LogEntry[],
  bindings: Record<string, unknown> = {},
): Logger {
  const at =
    (level: string) =>
    (obj: object, msg?: string): void => {
      entries.push({ level, obj: { ...bindings, ...obj }, msg });
    };
  return {
    debug: at('debug'),
    info: at('info'),
    warn: at('warn'),
    error: at('error'),
    child: (more) => recordingLogger(entries, { ...bindings, ...more }),
  };
}
