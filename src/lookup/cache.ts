// The hot path's memory: the newest embedding of each (space, item), served without a
// database round trip, and the ids known to have none (negative entries).
//
// - Bounded by bytes (an estimate of what each entry holds). Eviction is CLOCK (second
//   chance): a hit only sets the entry's reference bit, and the hand sweeping the slots
//   evicts the first entry not referenced since its last pass. It keeps hot items as LRU
//   does, but a hit writes nothing to the index: with a Map re-insert per hit (LRU), a
//   million entries meant rehashes of a million-slot table on the request path (pauses of
//   0.1–0.5 s measured) and a table that grew with every hit.
// - Each entry's JSON fragment is made when it is stored, not on its first use (made while
//   serving, it grew the old generation under load, and full collections of a large heap ran
//   on the request path), and kept as bytes outside the V8 heap: the fragments are most of the
//   cache's memory, and the cost of every young collection grows with the old generation's
//   size (at a million entries, fragments as strings made them 13 ms, every 65 ms; as bytes,
//   a third of that). A hit allocates nothing: the entry is the answer.
// - Every entry has a deadline (TTL): the safety net should an invalidation ever be lost.
// - Fill guards per item: a read takes a token (the invalidation count when it started);
//   its fill skips exactly the items invalidated since then, so a stream of writes to some
//   items never discards fills of the others (in this space or any other).
// - Entries are dropped on invalidation (a NOTIFY from the writing transaction, see
//   invalidation.ts); while that feed is down the cache serves and stores nothing.
export interface CachedEmbedding {
  vector: Float32Array;
  version: number;
  kind: string;
  interactions: number;
  modelVersion: number | null;
  updatedAt: Date;
}

/**
 * A stored entry is itself what `get` answers (no object is made per hit), and holds what it
 * serves as its own fields: not the row it was read from, nor a Date, so a million entries
 * are a million fewer objects for the garbage collector to trace.
 */
class Entry {
  readonly hit = true;
  /** Read since the hand last passed it. */
  ref = false;
  constructor(
    readonly space: string,
    readonly id: string,
    /** null: the id is known to have no embedding. */
    readonly vector: Float32Array | null,
    readonly version: number,
    readonly kind: string,
    readonly interactions: number,
    readonly modelVersion: number | null,
    private readonly updatedMs: number,
    /** `"vector":[…],"version":n,"kind":"…"` as bytes: serialising the numbers is most of a lookup's cost. */
    readonly json: Buffer,
    readonly bytes: number,
    readonly expires: number,
    /** Its place in the clock's ring. */
    readonly slot: number,
  ) {}

  get embedding(): CachedEmbedding | null {
    return this.vector ? (this as CachedEmbedding) : null;
  }

  get updatedAt(): Date {
    return new Date(this.updatedMs);
  }
}

/** One string per kind name for all entries, rather than one per row read. */
const KIND_NAMES = new Map<string, string>();
function kindName(kind: string): string {
  const known = KIND_NAMES.get(kind);
  if (known !== undefined) return known;
  if (KIND_NAMES.size < 64) KIND_NAMES.set(kind, kind);
  return kind;
}

export interface CacheOptions {
  maxBytes: number;
  ttlMs: number;
  negativeTtlMs: number;
  now?: () => number;
}

/** What an entry costs besides its id, vector and JSON: the objects around them and its index slots. */
const ENTRY_OVERHEAD = 200;

export function embeddingJson(e: CachedEmbedding): string {
  return `"vector":${JSON.stringify(Array.from(e.vector))},"version":${e.version},"kind":${JSON.stringify(e.kind)}`;
}

/** The fragment as bytes. Numbers and a kind name are ASCII, so latin1 is exact and the fastest encoding. */
export function embeddingFragment(e: CachedEmbedding): Buffer {
  return Buffer.from(embeddingJson(e), 'latin1');
}

export type Lookup =
  | { readonly hit: true; readonly embedding: CachedEmbedding; readonly json: Buffer }
  | { readonly hit: true; readonly embedding: null }
  | { readonly hit: false };
const MISS: Lookup = { hit: false };
const NO_BYTES = Buffer.alloc(0);

export class EmbeddingCache {
  /** space → id → entry: no key string is made per lookup */
  private spaces = new Map<string, Map<string, Entry>>();
  /** The clock's ring; free slots are undefined and listed in `free`. */
  private ring: (Entry | undefined)[] = [];
  private free: number[] = [];
  private hand = 0;
  private count = 0;
  private used = 0;
  private seq = 0;
  /** space → item → the invalidation count when it was last invalidated, kept while older reads are in flight */
  private invalidated = new Map<string, Map<string, number>>();
  private clearedAt = 0;
  /** read token → reads in flight that hold it */
  private reads = new Map<number, number>();
  // Off while the invalidation feed is down: without it, entries could go stale.
  private enabled = true;
  private readonly now: () => number;

  constructor(private readonly opts: CacheOptions) {
    this.now = opts.now ?? Date.now;
  }

  setEnabled(on: boolean): void {
    this.enabled = on;
    this.clear();
  }

  get(space: string, id: string, now = this.now()): Lookup {
    if (!this.enabled) return MISS;
    const entry = this.spaces.get(space)?.get(id);
    if (!entry) return MISS;
    if (entry.expires <= now) {
      this.remove(entry);
      return MISS;
    }
    entry.ref = true;
    return entry as unknown as Lookup;
  }

  /** A token for a read of the database whose result will be filled in. */
  beginRead(): number {
    this.reads.set(this.seq, (this.reads.get(this.seq) ?? 0) + 1);
    return this.seq;
  }

  /**
   * Stores what a read with `token` found (and, as negative entries, the ids it found
   * nothing for), except items invalidated since it began; ends the read. `json[i]`, when
   * given, is rows[i]'s fragment (the caller made it to answer with): it is not made twice.
   */
  fill(space: string, token: number, rows: ({ id: string } & CachedEmbedding)[], absent: string[] = [], json?: Buffer[]): void {
    try {
      if (!this.enabled || this.opts.maxBytes === 0 || this.clearedAt > token) return;
      const now = this.now();
      const guard = this.invalidated.get(space);
      rows.forEach((r, i) => {
        if ((guard?.get(r.id) ?? -1) > token) return;
        const fragment = json?.[i] ?? embeddingFragment(r);
        this.store(
          space,
          r.id,
          r,
          fragment,
          ENTRY_OVERHEAD + 2 * r.id.length + r.vector.byteLength + fragment.length,
          now + this.opts.ttlMs,
        );
      });
      for (const id of absent) {
        if ((guard?.get(id) ?? -1) > token) continue;
        this.store(space, id, null, NO_BYTES, ENTRY_OVERHEAD + 2 * id.length, now + this.opts.negativeTtlMs);
      }
    } finally {
      this.endRead(token);
    }
  }

  private store(space: string, id: string, e: CachedEmbedding | null, json: Buffer, bytes: number, expires: number): void {
    let index = this.spaces.get(space);
    if (!index) this.spaces.set(space, (index = new Map()));
    const old = index.get(id);
    if (old) this.remove(old);
    const slot = this.free.pop() ?? this.ring.length;
    const entry = e
      ? new Entry(
          space,
          id,
          e.vector,
          e.version,
          kindName(e.kind),
          e.interactions,
          e.modelVersion,
          e.updatedAt.getTime(),
          json,
          bytes,
          expires,
          slot,
        )
      : new Entry(space, id, null, 0, '', 0, null, 0, json, bytes, expires, slot);
    this.ring[slot] = entry;
    index.set(id, entry);
    this.count++;
    this.used += bytes;
    if (this.used > this.opts.maxBytes) this.evict(entry);
  }

  /** The hand sweeps until the bound holds: a referenced entry loses its bit and stays, the first one without goes. */
  private evict(keep: Entry): void {
    // Two turns of the ring at most: the first clears every bit it passes.
    for (let steps = 2 * this.ring.length; this.used > this.opts.maxBytes && steps > 0; steps--) {
      if (this.hand >= this.ring.length) this.hand = 0;
      const e = this.ring[this.hand++];
      if (!e || e === keep) continue;
      if (e.ref) e.ref = false;
      else this.remove(e);
    }
    // Only the new entry left, and it alone is over the bound.
    if (this.used > this.opts.maxBytes) this.remove(keep);
  }

  private remove(e: Entry): void {
    const index = this.spaces.get(e.space);
    if (index?.get(e.id) !== e) return;
    index.delete(e.id);
    if (index.size === 0) this.spaces.delete(e.space);
    this.ring[e.slot] = undefined;
    this.free.push(e.slot);
    this.count--;
    this.used -= e.bytes;
  }

  /** Ends a read whose result will not be filled in (it failed). */
  cancelRead(token: number): void {
    this.endRead(token);
  }

  private endRead(token: number): void {
    const n = (this.reads.get(token) ?? 1) - 1;
    if (n > 0) this.reads.set(token, n);
    else this.reads.delete(token);
    if (this.reads.size === 0) this.invalidated.clear();
    else {
      const oldest = Math.min(...this.reads.keys());
      for (const [space, guard] of this.invalidated) {
        for (const [id, s] of guard) if (s <= oldest) guard.delete(id);
        if (guard.size === 0) this.invalidated.delete(space);
      }
    }
  }

  invalidate(space: string, ids: string[]): void {
    this.seq++;
    const index = this.spaces.get(space);
    let guard = this.invalidated.get(space);
    for (const id of ids) {
      const old = index?.get(id);
      if (old) this.remove(old);
      if (this.reads.size) {
        if (!guard) this.invalidated.set(space, (guard = new Map()));
        guard.set(id, this.seq);
      }
    }
  }

  /** Drops one space's entries (its invalidation could not name the ids). */
  invalidateSpace(space: string): void {
    this.invalidate(space, [...(this.spaces.get(space)?.keys() ?? [])]);
    this.clearedAt = this.seq; // and any fill in flight, whichever ids it read
  }

  clear(): void {
    this.seq++;
    this.clearedAt = this.seq;
    this.spaces.clear();
    this.ring = [];
    this.free = [];
    this.hand = 0;
    this.count = 0;
    this.used = 0;
  }

  get size(): number {
    return this.count;
  }

  get bytes(): number {
    return this.used;
  }
}
