/** Model events for store tests. */
import {
  eventKey,
  orderKeyFromMillis,
  roomKey,
  sourceKey,
  userKey,
  type MessageEvent,
} from '../../src/model/index.js';

/** Everything COPY text format and JSON must escape, plus non-ASCII. */
export const TRICKY_TEXT = 'tab\there\nnew line\r\nback\\slash \\N not null, "quotes", ünïcödé 😀';

/**
 * Message `n` of one test room: key `test:<n>`, at position `order` (default `n`); even
 * messages are thread replies to `test:1`.
 */
export function testMessage(n: number, text: string, order = n): MessageEvent {
  return {
    key: eventKey(`test:${n}`),
    room: roomKey('test:room'),
    sender: userKey('test:user'),
    order: orderKeyFromMillis(1_700_000_000_000 + order, '0'),
    ts: 1_700_000_000_000 + n,
    source: sourceKey('test:source'),
    nativeId: String(n),
    kind: 'message',
    msgtype: 'text',
    content: { format: 'plain', text },
    thread: n % 2 === 0 ? { root: eventKey('test:1'), broadcast: false } : undefined,
  };
}
