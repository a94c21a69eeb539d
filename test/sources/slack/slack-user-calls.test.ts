import { describe, expect, it } from 'vitest';
import { RecordingUserRefs, replayUserCalls } from '../../../src/sources/slack/slack-user-calls.js';
import { SlackPlaceholderCollector } from '../../../src/sources/slack/slack-users.js';
import type { SlackUserRefs } from '../../../src/sources/slack/slack-messages.js';
import type { SourceKey } from '../../../src/model/index.js';

const directory = { has: (id: string) => id.startsWith('UKNOWN') };
const source = 'slack:T1' as SourceKey;

type Call = (refs: SlackUserRefs) => void;

/** A day file's worth of references, some repeated, some improving a name. */
function fileCalls(f: number): Call[] {
  const calls: Call[] = [
    (r) => r.user('UKNOWN1'),
    (r) => r.user(`UGONE${f % 3}`),
    (r) => r.user('UGONE0', f === 4 ? { display_name: 'Zoe' } : undefined),
    (r) => r.bot(`B${f % 2}`, f % 2 === 0 ? undefined : 'deploybot', 'https://x/icon.png'),
    (r) => r.user('USLACKBOT'),
  ];
  if (f === 6) calls.push((r) => r.user('UGONE1', { real_name: 'Bob Late', name: 'bob' }));
  return calls;
}

describe('placeholder calls recorded in workers and replayed in order', () => {
  it('end with the same placeholders as calling the collector directly', () => {
    const files = Array.from({ length: 9 }, (_, f) => fileCalls(f));
    const direct = new SlackPlaceholderCollector(directory);
    for (const calls of files) for (const call of calls) call(direct);

    // Three workers take files round-robin; the main thread replays file by file.
    const workers = [0, 1, 2].map(() => new RecordingUserRefs(directory));
    const recorded = files.map((calls, f) => {
      const worker = workers[f % 3]!;
      for (const call of calls) call(worker);
      return worker.take();
    });
    const main = new SlackPlaceholderCollector(directory);
    for (const calls of recorded) replayUserCalls(calls, main);

    expect(main.records(source)).toEqual(direct.records(source));
    expect(main.records(source).find((u) => u.nativeId === 'UGONE0')?.displayName).toBe('Zoe');
    expect(main.records(source).find((u) => u.nativeId === 'UGONE1')?.displayName).toBe('Bob Late');
  });

  it('sends only the calls that changed something', () => {
    const refs = new RecordingUserRefs(directory);
    refs.user('UKNOWN7'); // in users.json
    refs.user('UGONE');
    refs.user('UGONE'); // repeat
    refs.user('UGONE', { display_name: 'Gone' }); // a better name
    refs.user('UGONE', { display_name: 'Other' }); // a name already set
    refs.bot('B1', 'bot', undefined);
    refs.bot('B1', 'bot', undefined);
    expect(refs.take()).toEqual([
      { call: 'user', id: 'UGONE', snapshot: undefined },
      { call: 'user', id: 'UGONE', snapshot: { display_name: 'Gone' } },
      { call: 'bot', idOrName: 'B1', name: 'bot', icon: undefined },
    ]);
    expect(refs.take()).toEqual([]);
  });

  it('returns the same keys as the collector', () => {
    const refs = new RecordingUserRefs(directory);
    const collector = new SlackPlaceholderCollector(directory);
    expect(refs.user('UKNOWN1')).toBe(collector.user('UKNOWN1'));
    expect(refs.user('UX')).toBe(collector.user('UX'));
    expect(refs.bot('B9', undefined, undefined)).toBe(collector.bot('B9', undefined, undefined));
  });
});
