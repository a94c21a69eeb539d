/**
 * Narrow readers for Slack JSON that is still `unknown` (blocks, rich text, attachments).
 * Exports drift in type (`blocks: null`, numbers as strings), so every reader tolerates
 * anything and returns `undefined`/`[]` for what it cannot use.
 */

export type JsonRecord = Record<string, unknown>;

export function isRecord(value: unknown): value is JsonRecord {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The object elements of an array (non-objects are skipped); `[]` when not an array. */
export function records(value: unknown): JsonRecord[] {
  return Array.isArray(value) ? value.filter(isRecord) : [];
}

/** A string field, or `undefined` when missing/not a string. */
export function str(obj: JsonRecord, key: string): string | undefined {
  const value = obj[key];
  return typeof value === 'string' ? value : undefined;
}

/** A non-empty string field. */
export function nonEmpty(obj: JsonRecord, key: string): string | undefined {
  const value = str(obj, key);
  return value === undefined || value.trim() === '' ? undefined : value;
}

/** A finite number field (numeric strings accepted). */
export function num(obj: JsonRecord, key: string): number | undefined {
  const value = obj[key];
  const n = typeof value === 'number' ? value : typeof value === 'string' ? Number(value) : NaN;
  return Number.isFinite(n) ? n : undefined;
}

/** An object field. */
export function rec(obj: JsonRecord, key: string): JsonRecord | undefined {
  const value = obj[key];
  return isRecord(value) ? value : undefined;
}

/**
 * Narrows a `type` field to one of `known`; `undefined` for anything else, so callers can
 * switch exhaustively over the known types and handle `undefined` as "unknown, degrade".
 */
export function knownType<T extends string>(obj: JsonRecord, known: readonly T[]): T | undefined {
  const type = obj.type;
  return known.find((k) => k === type);
}
