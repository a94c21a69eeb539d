/**
 * A thin, typed Matrix client-server API client for an application service (AS), built on
 * Node's global `fetch`. It covers exactly what an import needs (see
 * `docs/matrix-import.md` §2–§7) and nothing else: no sync loop, no crypto, no state cache.
 *
 * Contract:
 * - Every request carries `Authorization: Bearer <as_token>` (admin requests: the admin token).
 *   Methods that act *as* a user take that user's ID and send it as `?user_id=`; without it
 *   Synapse acts as the AS bot (`sender_localpart`). The user must already be registered and
 *   inside the AS user namespace (403 otherwise).
 * - Path segments (room IDs, aliases, user IDs, event types, state keys, txn IDs) are
 *   `encodeURIComponent`-ed, always the same way, so a retried `PUT /send/…/{txnId}` hits
 *   Synapse's txn cache, which is keyed by the raw path (`!` and `%21` are different keys).
 * - Failures are `MatrixHttpError`, `MatrixNetworkError` or `MatrixResponseError`
 *   (`client-errors.ts`); their messages and everything logged never contain a token or a
 *   query string.
 * - Retries follow `retry.ts`; each method documents its `RetryMode`. Methods whose repetition
 *   is unsafe (`createRoom`) throw on ambiguous failures and leave the recovery to the caller.
 * - Lookups that the spec answers with 404 `M_NOT_FOUND` for "nothing there"
 *   (`resolveAlias`, `getState`, `getAccountData`, `getProfile`) return `undefined` instead.
 * - The client holds no per-room state and may be shared by concurrent room writers; ordering
 *   within a room (one in-flight event at a time) is the caller's job.
 *
 * The class is built from one file per API area, each extending the one before:
 * client-transport.ts (requests, retries, errors) → client-server.ts → client-users.ts →
 * client-rooms.ts → client-timeline.ts → client-media.ts.
 */
import { MediaApi } from './client-media.js';

export type { MatrixClientOptions, UploadBody } from './client-transport.js';
export type { RegisterResult } from './client-users.js';
export type { MessagesOptions, SendOptions } from './client-timeline.js';
export type { UploadOptions } from './client-media.js';

/** The homeserver client of the push side; see the contract above. */
export class MatrixClient extends MediaApi {}
