/**
 * The shared Matrix-event mapper (see event-items.ts): Element exports, matrix-archive dumps
 * and the live homeserver reader map Matrix events to model items only through here.
 */
export type {
  MatrixEventContext,
  MediaRef,
  MediaResolver,
  ResolvedMedia,
  UnreadableMedia,
} from './context.js';
export { matrixEventItems } from './event-items.js';
export { count, nonEmpty, num, obj, str, type JsonObject } from './json-guards.js';
export {
  bundledEdit,
  finalContent,
  parseMatrixEvent,
  threadRootOf,
  type MatrixEvent,
} from './matrix-event.js';
export { ARCHIVE_RULES, ELEMENT_RULES, HOMESERVER_RULES, type MatrixEventRules } from './rules.js';
