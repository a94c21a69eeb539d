/** Narrowing helpers for raw export JSON, which is `unknown` until checked here. */

export type JsonObject = Record<string, unknown>;

export const isObject = (v: unknown): v is JsonObject =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

export const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);

/** A non-empty string, or undefined. */
export const nonEmpty = (v: unknown): string | undefined =>
  typeof v === 'string' && v.trim() !== '' ? v : undefined;

export const obj = (v: unknown): JsonObject | undefined => (isObject(v) ? v : undefined);

export const arr = (v: unknown): unknown[] | undefined => (Array.isArray(v) ? v : undefined);

export const bool = (v: unknown): boolean => v === true;

export const num = (v: unknown): number | undefined => {
  const n = typeof v === 'string' ? Number(v) : v;
  return typeof n === 'number' && Number.isFinite(n) ? n : undefined;
};

/** The string elements of an array (Slack `members` can be null or hold junk). */
export const strings = (v: unknown): string[] =>
  Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : [];
