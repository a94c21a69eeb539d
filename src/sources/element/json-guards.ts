/** The export's JSON narrowing helpers: the shared Matrix ones (../matrix-events/json-guards.ts). */
export { count, nonEmpty, num, obj, str, type JsonObject } from '../matrix-events/json-guards.js';
