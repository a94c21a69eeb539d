/** Narrowing helpers for Matrix event JSON, which is `unknown` until checked here. */

export type JsonObject = Record<string, unknown>;

export const obj = (v: unknown): JsonObject | undefined =>
  typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as JsonObject) : undefined;

export const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);

/** A non-empty (after trimming) string, or undefined. */
export const nonEmpty = (v: unknown): string | undefined =>
  typeof v === 'string' && v.trim() !== '' ? v : undefined;

/** A finite number (Matrix never sends numbers as strings). */
export const num = (v: unknown): number | undefined =>
  typeof v === 'number' && Number.isFinite(v) ? v : undefined;

/** A whole, non-negative number: sizes, dimensions, timestamps. */
export const count = (v: unknown): number | undefined => {
  const n = num(v);
  return n !== undefined && n >= 0 ? Math.trunc(n) : undefined;
};
