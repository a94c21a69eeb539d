/**
 * Errors that carry policy. Library code throws `FerryError` for anything a user can cause or
 * fix (bad input, unreachable database, homeserver refusing us). The CLI prints `message`
 * without a stack trace and exits with `exitCode`; everything else is a bug and is printed
 * with its stack.
 *
 * `message` is what the user reads: it names the file or entry and what is wrong, and never
 * contains a secret.
 */
export type FerryErrorCode =
  | 'input_not_found'
  | 'input_invalid'
  | 'input_unsupported'
  | 'config_invalid'
  | 'store_unavailable'
  | 'store_conflict'
  | 'homeserver_error'
  | 'verification_failed'
  | 'interrupted';

export class FerryError extends Error {
  readonly code: FerryErrorCode;
  /** Worth retrying the same operation unchanged (network blips, 5xx, lock timeouts). */
  readonly retryable: boolean;

  constructor(
    code: FerryErrorCode,
    message: string,
    options: { cause?: unknown; retryable?: boolean } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'FerryError';
    this.code = code;
    this.retryable = options.retryable ?? false;
  }

  /** Process exit code the CLI uses for this error. */
  get exitCode(): number {
    switch (this.code) {
      case 'input_not_found':
      case 'input_invalid':
      case 'input_unsupported':
      case 'config_invalid':
        return 2;
      case 'store_unavailable':
      case 'store_conflict':
      case 'homeserver_error':
        return 3;
      case 'verification_failed':
        return 4;
      case 'interrupted':
        return 130;
    }
  }
}

export function isFerryError(e: unknown): e is FerryError {
  return e instanceof FerryError;
}

/**
 * A bug met while a worker thread read a named input file: the worker threw, or the thread
 * died (a stack overflow in a clone, out of memory). Not the user's doing, so the exit code is
 * 1, but the CLI prints only `message` (one line naming `file`) and logs `detail`, the stack the
 * worker reported, at debug level.
 */
export class WorkerCrash extends Error {
  /** What was being read: `<archive>: <entry>`, or undefined when the worker held no file. */
  readonly file: string | undefined;
  /** The worker's stack trace (or message), for the debug log only. */
  readonly detail: string;

  constructor(what: string, file: string | undefined, cause: unknown) {
    const reason = cause instanceof Error ? `${cause.name}: ${cause.message}` : String(cause);
    const firstLine = reason.split('\n', 1)[0] ?? reason;
    super(
      `internal error: ${what} crashed ${file === undefined ? 'between files' : `while reading ${file}`} (${firstLine})`,
      { cause },
    );
    this.name = 'WorkerCrash';
    this.file = file;
    this.detail = cause instanceof Error ? (cause.stack ?? reason) : reason;
  }
}
