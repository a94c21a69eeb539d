/**
 * matrix-archive's exports replace `content.url` (`mxc://server/id`) by the legacy download URL
 * `https://<host>/_matrix/media/r0/download/<server>/<id>` (source-formats.md §3.3). The media ID
 * survives, so the original mxc URI is rebuilt from it.
 */

const DOWNLOAD_PATH =
  /\/_matrix\/(?:media\/(?:r0|v1|v3)|client\/v1\/media)\/download\/([^/?#]+)\/([^/?#]+)/;

/** The mxc URI behind a download URL, or the URL itself when it is already mxc. */
export function mxcFromUrl(url: string): string | undefined {
  if (url.startsWith('mxc://')) return url;
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return undefined;
  }
  if (parsed.protocol !== 'https:' && parsed.protocol !== 'http:') return undefined;
  const m = DOWNLOAD_PATH.exec(parsed.pathname);
  if (m?.[1] === undefined || m[2] === undefined) return undefined;
  return `mxc://${decodeURIComponent(m[1])}/${decodeURIComponent(m[2])}`;
}
