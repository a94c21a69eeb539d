/**
 * Request capture for the replay baseline of the push benchmark (bench/push-bench.ts,
 * bench/push-replay.ts).
 *
 * `captureFetch()` replaces `globalThis.fetch` (before ferry's client is built, which takes the
 * global at construction) with a recorder: every request ferry makes to the homeserver is kept
 * in memory — method, path with query, content type, body (JSON text, or the bytes of an
 * upload in base64), status and response text — and written to a file after the timed part.
 * The cost inside the timed run is one object per request and, for stream bodies (uploads), the
 * body read into memory before the send; both are negligible against a 25–40 ms round trip and
 * can only make ferry look slower, never faster.
 */

export interface CapturedRequest {
  method: string;
  /** Path and query string, as sent (percent-encoded). */
  path: string;
  contentType?: string;
  /** JSON (or other text) body. */
  body?: string;
  /** Byte body (uploads), base64. */
  bodyBase64?: string;
  status: number;
  /** Response text (JSON); kept for writes only, to map room IDs, event IDs and mxc URIs. */
  response?: string;
  /** ms since the capture started, at send and at response. */
  startMs: number;
  endMs: number;
}

async function collect(body: unknown): Promise<Uint8Array> {
  const chunks: Uint8Array[] = [];
  for await (const c of body as AsyncIterable<Uint8Array>) chunks.push(c);
  return Buffer.concat(chunks);
}

function headerValue(init: RequestInit | undefined, name: string): string | undefined {
  const h = init?.headers;
  if (h === undefined) return undefined;
  if (h instanceof Headers) return h.get(name) ?? undefined;
  if (Array.isArray(h)) return h.find(([k]) => k?.toLowerCase() === name)?.[1];
  const rec = h as Record<string, string>;
  return rec[name] ?? rec[Object.keys(rec).find((k) => k.toLowerCase() === name) ?? ''];
}

/** Installs the recorder; returns the list it fills. */
export function captureFetch(): CapturedRequest[] {
  const captured: CapturedRequest[] = [];
  const real = globalThis.fetch;
  const t0 = performance.now();
  globalThis.fetch = async (input: string | URL | Request, init?: RequestInit) => {
    const url = new URL(input instanceof Request ? input.url : String(input));
    const method = (init?.method ?? 'GET').toUpperCase();
    let sendInit = init;
    const entry: CapturedRequest = {
      method,
      path: url.pathname + url.search,
      contentType: headerValue(init, 'content-type'),
      status: 0,
      startMs: performance.now() - t0,
      endMs: 0,
    };
    const body = init?.body;
    if (typeof body === 'string') entry.body = body;
    else if (body instanceof Uint8Array) entry.bodyBase64 = Buffer.from(body).toString('base64');
    else if (body !== undefined && body !== null) {
      const bytes = await collect(body);
      entry.bodyBase64 = Buffer.from(bytes).toString('base64');
      sendInit = { ...init, body: bytes };
      delete (sendInit as { duplex?: string }).duplex;
    }
    const res = await real(url, sendInit);
    const text = await res.text();
    entry.status = res.status;
    entry.endMs = performance.now() - t0;
    if (method !== 'GET') entry.response = text;
    captured.push(entry);
    const nullBody = res.status === 204 || res.status === 205 || res.status === 304;
    return new Response(nullBody ? null : text, {
      status: res.status,
      statusText: res.statusText,
      headers: res.headers,
    });
  };
  return captured;
}
