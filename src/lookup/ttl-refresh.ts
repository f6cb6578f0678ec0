// Refresh before the deadline. Every cached entry has a deadline (LOOKUP_CACHE_TTL_MS), the
// net beneath invalidation; but a warm start or a warm-up stores most entries within a
// minute or so, so they would all reach their deadlines within the same minute, and each
// one's next reader would wait for Postgres. Here a hand sweeps the cache's slots (a share
// of them each tick) and reads again, in the usual batched queries (reads.ts), the entries
// served since they were stored whose deadline is less than REFRESH_SHARE of the TTL away.
// Entries nobody read are left to expire, so the reads follow what is in use.
//
// The sweep passes every slot twice within that last share: an entry is seen while it is
// due, and once more if its first read failed. A re-read that finds what the entry holds
// renews it in place (cache.ts), so a hot entry keeps its JSON fragment.
import type { EmbeddingCache } from './cache.js';
import type { EmbeddingReads } from './reads.js';
import { countRefreshes } from './metrics.js';

/** The last part of an entry's TTL in which it is read again (if it was served since it was stored). */
export const REFRESH_SHARE = 0.2;
/** How often the hand moves: every 250 ms, or four times within a short horizon. */
const TICK_MS = 250;

export class TtlRefresh {
  private timer: NodeJS.Timeout | null = null;
  private readonly horizonMs: number;
  private readonly tickMs: number;

  constructor(
    private readonly cache: EmbeddingCache,
    private readonly reads: Pick<EmbeddingReads, 'refresh'>,
    ttlMs: number,
    tickMs?: number,
  ) {
    this.horizonMs = ttlMs * REFRESH_SHARE;
    this.tickMs = tickMs ?? Math.max(10, Math.min(TICK_MS, this.horizonMs / 4));
  }

  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => this.tick(), this.tickMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  /** One tick: the slots the hand passes in it (all of them with `steps` = Infinity); how many ids it sent to be read again. */
  tick(steps = this.stepsPerTick(), now?: number): number {
    let n = 0;
    for (const [space, ids] of this.cache.refreshDue(steps, this.horizonMs, now)) {
      // those already being read (by a lookup, or by this hand's last pass) are not counted again
      const read = this.reads.refresh(space, ids);
      countRefreshes(space, read);
      n += read;
    }
    return n;
  }

  /** Slots a tick passes: every slot twice per horizon. */
  private stepsPerTick(): number {
    return Math.ceil((this.cache.slots * this.tickMs) / (this.horizonMs / 2));
  }
}
