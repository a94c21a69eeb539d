/**
 * The logging contract every library module depends on. The CLI injects a pino logger
 * (which satisfies this shape); tests inject `silentLogger` or a recording logger.
 *
 * Rules for callers:
 * - first argument is a structured object, second a short message;
 * - never pass secrets (as_token, hs_token, Slack tokens, file URLs with `?t=`) in either;
 *   use `redactUrl` from `src/redact.ts` for URLs.
 */
export interface Logger {
  debug(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
  child(bindings: Record<string, unknown>): Logger;
}

const noop = (): void => undefined;

/** A logger that drops everything; the default for library code and tests. */
export const silentLogger: Logger = {
  debug: noop,
  info: noop,
  warn: noop,
  error: noop,
  child: () => silentLogger,
};
