/**
 * Undoing what matrix-archive's MongoDB storage did to event content (source-formats.md §3.2):
 * every `.` in a dict key became `•` (U+2022), and mongoexport may wrap numbers and IDs in
 * MongoDB Extended JSON (`{"$numberLong": "…"}`).
 */

const MANGLED_DOT = /\u2022/g;

/**
 * Restores `.` in object keys, recursively. matrix-archive only mangled keys of nested dicts,
 * not of dicts inside lists; objects inside arrays are repaired too (a key with a real `•` is
 * not expected in Matrix content).
 */
export function unmangleKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(unmangleKeys);
  if (typeof value !== 'object' || value === null) return value;
  const out: Record<string, unknown> = {};
  for (const [key, inner] of Object.entries(value as Record<string, unknown>)) {
    out[key.replace(MANGLED_DOT, '.')] = unmangleKeys(inner);
  }
  return out;
}

/**
 * Replaces Extended JSON wrappers (`$numberInt`, `$numberLong`, `$numberDouble`,
 * `$numberDecimal`, `$oid`) by plain values, recursively. `$date` is left alone: only the
 * record's `timestamp` holds dates and it is read separately.
 */
export function plainExtendedJson(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(plainExtendedJson);
  if (typeof value !== 'object' || value === null) return value;
  const entries = Object.entries(value as Record<string, unknown>);
  const [only] = entries;
  if (entries.length === 1 && only !== undefined && typeof only[1] === 'string') {
    const [key, text] = only;
    switch (key) {
      case '$numberInt':
      case '$numberLong':
      case '$numberDouble':
      case '$numberDecimal': {
        const n = Number(text);
        return Number.isFinite(n) ? n : text;
      }
      case '$oid':
        return text;
    }
  }
  const out: Record<string, unknown> = {};
  for (const [key, inner] of entries) out[key] = plainExtendedJson(inner);
  return out;
}
