// Refresh before the deadline. Every cached entry has a deadline (LOOKUP_CACHE_TTL_MS), the
// net beneath invalidation; but a warm start or a warm-up stores most entries within a
// minute or so, so they would all reach their deadlines within the same minute, and each
// one's next reader would wait for Postgres. Here a hand sweeps the cache's slots (a share
// of them each tick) and checks (reads.ts, revalidate) the entries served since they were
// stored whose deadline is less than REFRESH_SHARE of the TTL away: one query of what those
// ids serve now, without the vectors; an entry still current is renewed in place (its vector
// and JSON fragment stay), the others are read whole. Entries nobody read are left to expire,
// so the checks follow what is in use. Reading the rows whole instead cost the API process a
// vector's parsing and garbage per entry: at a million items its resident memory grew by
// about 200 bytes an item.
//
// The sweep passes every slot twice within that last share: an entry is seen while it is
// due, and once more if its first check failed.
import type { EmbeddingCache } from './cache.js';
import type { EmbeddingReads } from './reads.js';
import { countRefreshes } from './metrics.js';

/** The last part of an entry's TTL in which it is read again (if it was served since it was stored). */
export const REFRESH_SHARE = 0.2;
/**
 * How often the hand moves: every 50 ms (four times within a short horizon). A tick's checks
 * are handled on the event loop (their rows parsed, each id found), so ticks are kept small:
 * at a million entries (TTL 300 s) a tick passes ~1,700 slots. After a warm-up nearly all of
 * those are due at once for about half a minute; after that ~200 a tick.
 */
const TICK_MS = 50;

export class TtlRefresh {
  private timer: NodeJS.Timeout | null = null;
  private readonly horizonMs: number;
  private readonly tickMs: number;

  constructor(
    private readonly cache: EmbeddingCache,
    private readonly reads: Pick<EmbeddingReads, 'revalidate'>,
    ttlMs: number,
    tickMs?: number,
  ) {
    this.horizonMs = ttlMs * REFRESH_SHARE;
    this.tickMs = tickMs ?? Math.max(10, Math.min(TICK_MS, this.horizonMs / 4));
  }

  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => void this.tick(), this.tickMs); // revalidate counts its failures itself
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  /**
   * One tick: the slots the hand passes in it (all of them with `steps` = Infinity); resolves
   * once their checks are done, with how many ids it checked (those being read or checked
   * already, by a lookup or this hand's last pass, are not checked or counted again).
   */
  async tick(steps = this.stepsPerTick(), now?: number): Promise<number> {
    const checks = [...this.cache.refreshDue(steps, this.horizonMs, now)].map(async ([space, ids]) => {
      const n = await this.reads.revalidate(space, ids);
      countRefreshes(space, n);
      return n;
    });
    return (await Promise.all(checks)).reduce((a, b) => a + b, 0);
  }

  /** Slots a tick passes: every slot twice per horizon. */
  private stepsPerTick(): number {
    return Math.ceil((this.cache.slots * this.tickMs) / (this.horizonMs / 2));
  }
}
