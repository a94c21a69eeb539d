/** Small helpers shared by the archive readers. */
import type { Logger } from '../logger.js';

/** What `openArchive` hands to a reader implementation. */
export interface ReaderContext {
  /** The path as the user gave it; every message starts with it. */
  label: string;
  rootMarkers: readonly string[];
  logger: Logger;
}

/** `PK\x03\x04`, `PK\x05\x06` (empty zip) or `PK\x07\x08` (spanning marker). */
export function hasZipSignature(head: Buffer): boolean {
  if (head.length < 4 || head[0] !== 0x50 || head[1] !== 0x4b) return false;
  const sig = (head[2] ?? 0) | ((head[3] ?? 0) << 8);
  return sig === 0x0403 || sig === 0x0605 || sig === 0x0807;
}

export function isErrnoCode(e: unknown, code: string): boolean {
  return e instanceof Error && (e as NodeJS.ErrnoException).code === code;
}

/** A short reason for a message: the error's message without a trailing period. */
export function errorText(e: unknown): string {
  const text = e instanceof Error ? e.message : String(e);
  return text.replace(/\.\s*$/, '');
}
