/**
 * Per-method request pacing by Slack rate-limit tier (docs.slack.dev "Rate limits"): each
 * method gets at most `perMinute[tier]` requests a minute, evenly spaced, so a long fetch never
 * runs into the limit instead of bursting into 429s. 429s that still happen are waited out by
 * `@slack/web-api` (Retry-After); the pacer does not replace that.
 */

/** Slack's tiers: Tier 1 ≈ 1+/min, Tier 2 ≈ 20+/min, Tier 3 ≈ 50+/min, Tier 4 ≈ 100+/min. */
export type SlackTier = 1 | 2 | 3 | 4;

/** Requests per minute per tier, as Slack documents them. */
export const SLACK_TIER_LIMITS: Readonly<Record<SlackTier, number>> = {
  1: 1,
  2: 20,
  3: 50,
  4: 100,
};

/**
 * The tier of each method ferry calls, from each method's reference page. `auth.test` is
 * "special" (thousands per hour): treated as Tier 4.
 */
export const SLACK_METHOD_TIERS: Readonly<Record<string, SlackTier>> = {
  'auth.test': 4,
  'team.info': 3,
  'users.list': 2,
  'conversations.list': 2,
  'conversations.members': 4,
  'conversations.history': 3,
  'conversations.replies': 3,
  'pins.list': 2,
  'emoji.list': 2,
};

export class MethodPacer {
  readonly #limits: Record<SlackTier, number>;
  readonly #tiers = new Map<string, SlackTier>();
  readonly #next = new Map<string, number>();
  readonly #now: () => number;
  readonly #sleep: (ms: number) => Promise<void>;

  constructor(
    limits: Partial<Record<SlackTier, number>> = {},
    clock: { now?: () => number; sleep?: (ms: number) => Promise<void> } = {},
  ) {
    this.#limits = { ...SLACK_TIER_LIMITS, ...limits };
    this.#now = clock.now ?? Date.now;
    this.#sleep = clock.sleep ?? ((ms) => new Promise((r) => setTimeout(r, ms)));
  }

  tierOf(method: string): SlackTier {
    return this.#tiers.get(method) ?? SLACK_METHOD_TIERS[method] ?? 3;
  }

  /** Moves a method to another tier (the non-Marketplace limit puts history on Tier 1). */
  setTier(method: string, tier: SlackTier): void {
    this.#tiers.set(method, tier);
  }

  /** Waits until `method` may be called again, and books the slot. */
  async wait(method: string): Promise<void> {
    const interval = 60_000 / this.#limits[this.tierOf(method)];
    const now = this.#now();
    const at = Math.max(now, this.#next.get(method) ?? 0);
    this.#next.set(method, at + interval);
    if (at > now) await this.#sleep(at - now);
  }
}
