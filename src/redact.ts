/**
 * Secret hygiene. Anything that may hold a token passes through here before it reaches a log
 * line, an error message or a report.
 */

const TOKEN_PARAMS = /([?&](?:t|token|access_token|as_token|hs_token)=)[^&#\s]*/gi;
const SLACK_TOKEN = /xox[a-z]-[A-Za-z0-9-]+/g;
const BEARER = /(Bearer\s+)[A-Za-z0-9._~+/=-]+/gi;

/** Removes query-string tokens (`?t=xoxe-…`, `access_token=…`) from a URL or any text. */
export function redactUrl(text: string): string {
  return redactText(text);
}

/** Removes every token-looking substring from free text. */
export function redactText(text: string): string {
  return text
    .replace(TOKEN_PARAMS, '$1REDACTED')
    .replace(SLACK_TOKEN, 'xox?-REDACTED')
    .replace(BEARER, '$1REDACTED');
}
