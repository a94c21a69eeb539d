import type { SourceItem, TimelineEvent } from '../../src/model/index.js';

/** Drains an item stream into arrays by type (tests only: fixtures are small). */
export async function collect(items: AsyncIterable<SourceItem>) {
  const all: SourceItem[] = [];
  for await (const item of items) all.push(item);
  const events = all.flatMap((i) => (i.type === 'event' ? [i.event] : []));
  return {
    all,
    users: all.flatMap((i) => (i.type === 'user' ? [i.user] : [])),
    rooms: all.flatMap((i) => (i.type === 'room' ? [i.room] : [])),
    media: all.flatMap((i) => (i.type === 'media' ? [i.media] : [])),
    events,
    skips: all.flatMap((i) => (i.type === 'skip' ? [i] : [])),
    losses: all.flatMap((i) => (i.type === 'loss' ? [i] : [])),
    event: (key: string): TimelineEvent => {
      const e = events.find((x) => x.key === key);
      if (e === undefined) throw new Error(`no event ${key}`);
      return e;
    },
  };
}
