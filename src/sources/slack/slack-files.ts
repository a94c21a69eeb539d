/**
 * Slack file objects → MediaRecords. Official exports hold no file bodies; tool-made
 * archives may (`__uploads/<ID>/<name>`, `<channel>/attachments/<ID>-<name>`).
 */
import type { MediaAvailability, MediaRecord } from '../../model/index.js';
import { nonEmpty, num, str, type JsonObject } from './json-guards.js';
import { slackMediaKey } from './slack-keys.js';

export function slackFileMedia(
  file: JsonObject,
  ctx: { source: MediaRecord['source']; localFiles: ReadonlyMap<string, string> },
): MediaRecord {
  const id = String(file.id);
  const availability = availabilityOf(file);
  const localPath = availability === 'available' ? ctx.localFiles.get(id) : undefined;
  return {
    key: slackMediaKey(id),
    source: ctx.source,
    nativeId: id,
    availability,
    name: nonEmpty(file.name),
    title: nonEmpty(file.title),
    mimetype: nonEmpty(file.mimetype),
    size: num(file.size),
    localPath,
    remoteUrl:
      availability === 'available' || availability === 'external'
        ? (nonEmpty(file.url_private_download) ??
          nonEmpty(file.url_private) ??
          nonEmpty(file.permalink))
        : undefined,
    width: num(file.original_w),
    height: num(file.original_h),
    mode: nonEmpty(file.mode),
  };
}

function availabilityOf(file: JsonObject): MediaAvailability {
  const mode = str(file.mode);
  if (mode === 'hidden_by_limit') return 'hidden_by_limit';
  if (mode === 'tombstone') return 'tombstone';
  const access = str(file.file_access);
  if (access === 'access_denied' || access === 'file_not_found') return 'access_denied';
  if (mode === 'external' || file.is_external === true) return 'external';
  if (nonEmpty(file.name) === undefined && nonEmpty(file.url_private) === undefined) {
    return 'access_denied';
  }
  return 'available';
}

/**
 * Indexes file bodies present in the archive by file ID. Paths: `__uploads/<ID>/<name>` and
 * `<folder>/attachments/<ID>-<name>` (relative to any export root).
 */
export function indexLocalSlackFiles(paths: Iterable<string>): Map<string, string> {
  const index = new Map<string, string>();
  for (const path of paths) {
    const uploads = /(?:^|\/)__uploads\/(F[A-Z0-9]+)\/[^/]+$/.exec(path);
    if (uploads?.[1] !== undefined) {
      index.set(uploads[1], path);
      continue;
    }
    const attachment = /(?:^|\/)attachments\/(F[A-Z0-9]+)-[^/]+$/.exec(path);
    if (attachment?.[1] !== undefined) index.set(attachment[1], path);
  }
  return index;
}
