// The database reads behind the lookup cache: single flight, batched, and ahead of demand.
//
// - One read per id at a time: a lookup that misses an id another lookup is already reading
//   waits for that read instead of sending its own query. The ids missed in one turn of the
//   event loop, by any number of requests, go out as one query per space.
// - Refresh-ahead: when a write invalidates entries the cache held (a refinement, see
//   invalidation.ts), they are read again at once, in one query, rather than by every
//   request that would next miss them. Under a stream of refinements each request of 100
//   ids had been making a query of its own for the two or three just refined.
// - Refresh before the deadline: the entries lookups are using are checked before their TTL
//   runs out (ttl-refresh.ts calls revalidate): one query of what the ids serve now, without
//   vectors; those still current are renewed in place, the others read whole as above.
// - Never older than the invalidation: an invalidation takes its ids out of the reads in
//   flight, so a lookup after it never joins a read that began before it (the read of the
//   lookups that did join it still fills nothing stale: the cache's fill guard drops it).
import { latestEmbeddings, servedStamps } from '../db/embeddings.js';
import type { Queryable } from '../db/pool.js';
import type { CacheWatcher, CachedEmbedding, EmbeddingCache } from './cache.js';

/** An invalidation of more cached ids than this is not read ahead (the next lookups read them). */
const REFRESH_MAX_IDS = 10_000;
/** Ids per query: a larger batch is split (a statement's arrays stay a bounded size). */
const QUERY_MAX_IDS = 5_000;

type Row = CachedEmbedding | undefined;

interface Batch {
  ids: string[];
  reads: Promise<Row>[];
  settle: ((row: Row) => void)[];
  fail: ((err: Error) => void)[];
}

export class EmbeddingReads implements CacheWatcher {
  /** space → id → the read in flight (or queued) for it */
  private readonly inFlight = new Map<string, Map<string, Promise<Row>>>();
  /** space → the ids queued for the next turn's query */
  private readonly queued = new Map<string, Batch>();
  private scheduled = false;
  /** space → the ids whose check (revalidate) is in flight */
  private readonly checking = new Map<string, Set<string>>();
  /** refresh-ahead reads that failed (the ids are read by the next lookups instead) */
  refreshFailures = 0;

  constructor(
    private readonly db: Queryable,
    private readonly cache: EmbeddingCache,
  ) {
    cache.watch(this);
  }

  /** The served embedding of each id (undefined: none), each from a read in flight or a new one. */
  read(space: string, ids: readonly string[]): Promise<Row[]> {
    return Promise.all(ids.map((id) => this.inFlight.get(space)?.get(id) ?? this.enqueue(space, id)));
  }

  /**
   * What an invalidation of `ids` means here: reads in flight for them are no longer joined,
   * and those the cache held (`cached`) are read again ahead of the next lookup.
   */
  invalidated(space: string, ids: readonly string[], cached: readonly string[]): void {
    const flying = this.inFlight.get(space);
    if (flying) for (const id of ids) flying.delete(id);
    if (cached.length === 0 || cached.length > REFRESH_MAX_IDS) return;
    this.refresh(space, cached);
  }

  /**
   * Reads `ids` again, ahead of any lookup (after an invalidation), joining reads in flight. Nobody awaits it: a failure is
   * counted, and the next lookups read the ids themselves.
   */
  refresh(space: string, ids: readonly string[]): void {
    for (const id of ids) {
      if (this.inFlight.get(space)?.has(id)) continue;
      this.enqueue(space, id).catch(() => {
        this.refreshFailures++; // a lookup that joined the read saw the error
      });
    }
  }

  /**
   * Before their deadline (ttl-refresh.ts): what `ids` serve now is checked, without the
   * vectors (one query per QUERY_MAX_IDS); the entries still current get a new deadline, the
   * others are read whole. Ids being read or checked already are left out. Resolves once done,
   * with how many ids it checked; a failure is counted, and those entries are left to their
   * deadline.
   */
  async revalidate(space: string, ids: readonly string[]): Promise<number> {
    let checking = this.checking.get(space);
    if (!checking) this.checking.set(space, (checking = new Set()));
    const flying = this.inFlight.get(space);
    const mine = ids.filter((id) => !checking.has(id) && !flying?.has(id));
    for (const id of mine) checking.add(id);
    try {
      for (let at = 0; at < mine.length; at += QUERY_MAX_IDS) {
        const part = mine.slice(at, at + QUERY_MAX_IDS);
        const token = this.cache.beginRead();
        let stamps: Awaited<ReturnType<typeof servedStamps>>;
        try {
          stamps = await servedStamps(this.db, space, part);
        } catch {
          this.cache.cancelRead(token);
          this.refreshFailures++;
          continue;
        }
        const changed = this.cache.renewIfCurrent(space, token, part, stamps);
        await Promise.all(changed.map((id) => this.inFlight.get(space)?.get(id) ?? this.enqueue(space, id))).catch(() => {
          this.refreshFailures++;
        });
      }
    } finally {
      for (const id of mine) checking.delete(id);
      if (checking.size === 0) this.checking.delete(space);
    }
    return mine.length;
  }

  spaceInvalidated(space: string): void {
    this.inFlight.delete(space);
  }

  cleared(): void {
    this.inFlight.clear();
  }

  private enqueue(space: string, id: string): Promise<Row> {
    let batch = this.queued.get(space);
    if (!batch) this.queued.set(space, (batch = { ids: [], reads: [], settle: [], fail: [] }));
    const b = batch;
    const p = new Promise<Row>((resolve, reject) => {
      b.ids.push(id);
      b.settle.push(resolve);
      b.fail.push(reject);
    });
    b.reads.push(p);
    let flying = this.inFlight.get(space);
    if (!flying) this.inFlight.set(space, (flying = new Map()));
    flying.set(id, p);
    if (!this.scheduled) {
      this.scheduled = true;
      // The next turn: the other requests read off the socket in this one miss ids too.
      setImmediate(() => this.flush());
    }
    return p;
  }

  private flush(): void {
    this.scheduled = false;
    const batches = [...this.queued];
    this.queued.clear();
    for (const [space, batch] of batches) {
      for (let at = 0; at < batch.ids.length; at += QUERY_MAX_IDS) {
        const end = Math.min(batch.ids.length, at + QUERY_MAX_IDS);
        void this.query(space, batch, at, end);
      }
    }
  }

  private async query(space: string, batch: Batch, from: number, to: number): Promise<void> {
    const ids = batch.ids.slice(from, to);
    const token = this.cache.beginRead();
    let rows: Awaited<ReturnType<typeof latestEmbeddings>>;
    try {
      rows = await latestEmbeddings(this.db, space, ids);
    } catch (err) {
      this.cache.cancelRead(token); // nothing was read: nothing to fill, least of all "absent"
      this.settle(space, batch, from, to, (i) => batch.fail[i]!(err as Error));
      return;
    }
    const got = new Map<string, CachedEmbedding>();
    for (const r of rows) got.set(r.id, r);
    this.cache.fill(
      space,
      token,
      rows,
      ids.filter((id) => !got.has(id)),
    );
    this.settle(space, batch, from, to, (i) => batch.settle[i]!(got.get(batch.ids[i]!)));
  }

  /** Ends the reads of batch[from, to): each is settled, and left out of the reads joined from now on. */
  private settle(space: string, batch: Batch, from: number, to: number, each: (i: number) => void): void {
    const flying = this.inFlight.get(space);
    for (let i = from; i < to; i++) {
      each(i);
      // Only if it is still this read: an invalidation may have put a newer one in its place.
      if (flying?.get(batch.ids[i]!) === batch.reads[i]) flying!.delete(batch.ids[i]!);
    }
    if (flying?.size === 0) this.inFlight.delete(space);
  }
}
