/** matrix.to links to events of the old homeserver, rewritten to where those events now live. */
import type { TimelineEvent } from '../model/index.js';
import { isMatrixEventId } from '../model/matrix-keys.js';
import type { ContentContext } from './content-types.js';

/**
 * A matrix.to permalink to an event: `https://matrix.to/#/<room>/<event>` where `<room>` is a
 * room ID (`!…`) or alias (`#…`), or `https://matrix.to/#/<event>`; any of `!`, `#`, `$`, `:`
 * may be percent-encoded (`%21`, `%23`, `%24`, `%3A`), and a query (`?via=…`) may follow.
 * Group 1 is the (still encoded) event ID, group 2 the query. Neither the event ID nor the query
 * may end with punctuation, so a link at the end of a sentence or in parentheses keeps the
 * punctuation outside it. Links to rooms or users only do not match.
 */
const MATRIX_TO_EVENT_LINK =
  /https?:\/\/matrix\.to\/#\/(?:(?:!|%21|#|%23)[^/?\s"'<>&]+\/)?((?:\$|%24)[^/?\s"'<>&]*[^/?\s"'<>&.,;:!)\]}])(\?[^\s"'<>]*[^\s"'<>.,;:!)\]}])?/gi;

/** The decoded event ID of a link's event segment, or undefined when it is not one. */
function linkedEventId(segment: string): string | undefined {
  let id: string;
  try {
    id = decodeURIComponent(segment);
  } catch {
    return undefined;
  }
  return isMatrixEventId(id) ? id : undefined;
}

/** Old event IDs that matrix.to links in a text point at, decoded, each once. */
export function matrixToEventIds(text: string): string[] {
  const ids = new Set<string>();
  for (const match of text.matchAll(MATRIX_TO_EVENT_LINK)) {
    const id = linkedEventId(match[1] ?? '');
    if (id !== undefined) ids.add(id);
  }
  return [...ids];
}

/**
 * Old event IDs linked from an event's Matrix-origin text (message text, file caption, edit
 * text; `body` and `formattedBody`). The writer looks these up before converting the event, so
 * that `ContentContext.migratedEvent` can answer. Other formats never link to Matrix events
 * that ferry migrated, and are not rewritten.
 */
export function linkedEventIds(event: TimelineEvent): string[] {
  const text =
    event.kind === 'message' || event.kind === 'edit'
      ? event.content
      : event.kind === 'file'
        ? event.caption
        : undefined;
  if (text?.format !== 'matrix') return [];
  return [
    ...new Set([...matrixToEventIds(text.body), ...matrixToEventIds(text.formattedBody ?? '')]),
  ];
}

/**
 * Points matrix.to links at migrated events to the event in its new room:
 * `https://matrix.to/#/<new room ID>/<new event ID>`. The old `?via=` servers are dropped, not
 * replaced: they name old servers, and the new homeserver holds the room itself. Links to
 * events that were not migrated (unknown, skipped, not sent yet) stay exactly as they were.
 * `escape` encodes the inserted IDs for the text's syntax (HTML or none).
 */
export function rewriteMatrixToLinks(
  text: string,
  ctx: ContentContext,
  escape: (s: string) => string,
): string {
  return text.replace(MATRIX_TO_EVENT_LINK, (link: string, segment: string) => {
    const id = linkedEventId(segment);
    const target = id === undefined ? undefined : ctx.migratedEvent(id);
    return target === undefined
      ? link
      : escape(`https://matrix.to/#/${target.roomId}/${target.eventId}`);
  });
}
