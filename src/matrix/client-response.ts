/**
 * Checking homeserver response bodies: a 2xx whose body lacks what the endpoint promises is a
 * `MatrixResponseError` naming the request (never its query string or token).
 */
import { MatrixResponseError, type HttpMethod } from './client-errors.js';
import type { ClientEvent } from './types.js';

/** The request a response answered, as errors name it. */
export interface RequestLabel {
  method: HttpMethod;
  path: string;
}

export function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

export function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export function field(body: unknown, key: string): unknown {
  return isObject(body) ? body[key] : undefined;
}

export function badResponse(spec: RequestLabel, problem: string): MatrixResponseError {
  return new MatrixResponseError({ method: spec.method, path: spec.path, problem });
}

export function requireString(spec: RequestLabel, body: unknown, key: string): string;
export function requireString<T extends string>(
  spec: RequestLabel,
  body: unknown,
  key: string,
  guard: (s: string) => s is T,
): T;
export function requireString(
  spec: RequestLabel,
  body: unknown,
  key: string,
  guard?: (s: string) => boolean,
): string {
  const value = field(body, key);
  if (typeof value !== 'string' || (guard !== undefined && !guard(value))) {
    throw badResponse(spec, `missing or malformed "${key}"`);
  }
  return value;
}

export function requireEvents(spec: RequestLabel, value: unknown): ClientEvent[] {
  if (!Array.isArray(value)) throw badResponse(spec, 'expected a list of events');
  for (const event of value) {
    if (
      !isObject(event) ||
      typeof event.event_id !== 'string' ||
      typeof event.type !== 'string' ||
      typeof event.sender !== 'string' ||
      !isObject(event.content)
    ) {
      throw badResponse(spec, 'malformed event');
    }
  }
  return value as ClientEvent[];
}
