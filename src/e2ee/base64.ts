/**
 * Base64 as Matrix uses it: standard alphabet, usually unpadded (olm, session IDs, ciphertexts,
 * attachment hashes and IVs), URL-safe for JWK `k`. Buffer.from(…, 'base64') silently skips
 * characters it does not know, so input is checked first: a damaged value is an error, not a
 * shorter key.
 */

const STANDARD = /^[A-Za-z0-9+/]*={0,2}$/;
const URL_SAFE = /^[A-Za-z0-9_-]*={0,2}$/;

/** Decodes standard base64 (padded or not); undefined when the text is not base64. */
export function decodeBase64(text: string): Buffer | undefined {
  if (!STANDARD.test(text) || text.replace(/=+$/, '').length % 4 === 1) return undefined;
  return Buffer.from(text, 'base64');
}

/** Decodes URL-safe base64 (JWK `k`); undefined when the text is not base64url. */
export function decodeBase64Url(text: string): Buffer | undefined {
  if (!URL_SAFE.test(text) || text.replace(/=+$/, '').length % 4 === 1) return undefined;
  return Buffer.from(text, 'base64url');
}

/** Unpadded standard base64, the form olm and the Matrix spec write. */
export function encodeBase64Unpadded(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString('base64').replace(/=+$/, '');
}
