/**
 * Placeholder users discovered in a worker thread reach the main thread's
 * SlackPlaceholderCollector as a list of calls, replayed in day-file order.
 *
 * A worker keeps its own collector and records only the calls that changed it. Day files reach
 * each worker in export order and their calls are replayed in export order, so the main
 * collector has already seen every call a worker recorded before; a call that changes nothing
 * in the worker changes nothing in the main collector either, and is not sent.
 */
import type { UserKey } from '../../model/index.js';
import type { JsonObject } from './json-guards.js';
import { slackUserKey } from './slack-keys.js';
import type { SlackUserRefs } from './slack-messages.js';
import { SlackPlaceholderCollector } from './slack-users.js';

export type SlackUserCall =
  | { call: 'user'; id: string; snapshot?: JsonObject }
  | { call: 'bot'; idOrName: string; name?: string; icon?: string };

/** The worker side: SlackUserRefs that remembers the calls that mattered. */
export class RecordingUserRefs implements SlackUserRefs {
  private readonly local: SlackPlaceholderCollector;
  private calls: SlackUserCall[] = [];

  constructor(private readonly directory: { has(userId: string): boolean }) {
    this.local = new SlackPlaceholderCollector(directory);
  }

  user(id: string, snapshot?: JsonObject): UserKey {
    if (this.directory.has(id)) return slackUserKey(id);
    const before = this.local.version;
    const key = this.local.user(id, snapshot);
    if (this.local.version !== before) this.calls.push({ call: 'user', id, snapshot });
    return key;
  }

  bot(botIdOrName: string, name: string | undefined, icon: string | undefined): UserKey {
    const before = this.local.version;
    const key = this.local.bot(botIdOrName, name, icon);
    if (this.local.version !== before)
      this.calls.push({ call: 'bot', idOrName: botIdOrName, name, icon });
    return key;
  }

  /** The calls recorded since the last `take`. */
  take(): SlackUserCall[] {
    const calls = this.calls;
    this.calls = [];
    return calls;
  }
}

/** The main side. */
export function replayUserCalls(calls: readonly SlackUserCall[], refs: SlackUserRefs): void {
  for (const c of calls) {
    switch (c.call) {
      case 'user':
        refs.user(c.id, c.snapshot);
        break;
      case 'bot':
        refs.bot(c.idOrName, c.name, c.icon);
        break;
    }
  }
}
