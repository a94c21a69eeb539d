/** `MatrixClient`'s media area: uploads. */
import { requireString } from './client-response.js';
import type { RequestSpec, UploadBody } from './client-transport.js';
import { isMxcUri, type MxcUri, type UserId } from './types.js';

export interface UploadOptions {
  contentType: string;
  filename?: string;
  /** Exact byte length, sent as `Content-Length` (Synapse rejects chunked uploads). */
  size: number;
  /** Record this user as the uploader; the AS bot when omitted. */
  userId?: UserId;
}

import { TimelineApi } from './client-timeline.js';

export class MediaApi extends TimelineApi {
  /**
   * `POST /_matrix/media/v3/upload?filename=` with `Content-Length`. Returns the `mxc://` URI.
   * Retry: idempotent for bytes and stream factories (a duplicate upload only leaves an
   * orphan), `never` for a one-shot stream.
   */
  async upload(body: UploadBody, options: UploadOptions): Promise<MxcUri> {
    const spec: RequestSpec = {
      method: 'POST',
      path: '/_matrix/media/v3/upload',
      query: { filename: options.filename, user_id: options.userId },
      body: { kind: 'bytes', contentType: options.contentType, size: options.size, source: body },
      retry: body instanceof Uint8Array || typeof body === 'function' ? 'idempotent' : 'never',
    };
    return requireString(spec, await this.request(spec), 'content_uri', isMxcUri);
  }
}
