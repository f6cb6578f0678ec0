// The hot path's memory: the newest embedding of each (space, item), served without a
// database round trip, and the ids known to have none (negative entries).
//
// - Bounded by bytes (an estimate of what each entry holds), least recently used first
//   out: ranking traffic is skewed, and LRU keeps the hot items at the cost of one Map
//   re-insert per hit (measured cheaper here than the misses a FIFO causes).
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

interface Entry {
  /** null: the id is known to have no embedding. */
  e: CachedEmbedding | null;
  /** `"vector":[…],"version":n,"kind":"…"`, made on first use: serialising the numbers is
   * most of a lookup's cost, and a cached entry is served many times. */
  json?: string;
  bytes: number;
  expires: number;
}

export interface CacheOptions {
  maxBytes: number;
  ttlMs: number;
  negativeTtlMs: number;
  now?: () => number;
}

/** What an entry costs besides its key, vector and JSON: the objects around them. */
const ENTRY_OVERHEAD = 160;

export function embeddingJson(e: CachedEmbedding): string {
  return `"vector":${JSON.stringify(Array.from(e.vector))},"version":${e.version},"kind":${JSON.stringify(e.kind)}`;
}

export type Lookup = { hit: true; embedding: CachedEmbedding; json: () => string } | { hit: true; embedding: null } | { hit: false };
const MISS: Lookup = { hit: false };
const NEGATIVE: Lookup = { hit: true, embedding: null };

export class EmbeddingCache {
  private map = new Map<string, Entry>();
  private used = 0;
  private seq = 0;
  /** item key → the invalidation count when it was last invalidated, kept while older reads are in flight */
  private invalidated = new Map<string, number>();
  private clearedAt = 0;
  /** read token → reads in flight that hold it */
  private reads = new Map<number, number>();
  // Off while the invalidation feed is down: without it, entries could go stale.
  private enabled = true;
  private readonly now: () => number;

  constructor(private readonly opts: CacheOptions) {
    this.now = opts.now ?? Date.now;
  }

  private key(space: string, id: string): string {
    return `${space}\u0000${id}`;
  }

  setEnabled(on: boolean): void {
    this.enabled = on;
    this.clear();
  }

  get(space: string, id: string, now = this.now()): Lookup {
    if (!this.enabled) return MISS;
    const k = this.key(space, id);
    const entry = this.map.get(k);
    if (!entry) return MISS;
    this.map.delete(k);
    if (entry.expires <= now) {
      this.used -= entry.bytes;
      return MISS;
    }
    this.map.set(k, entry); // most recently used: last in the Map's order
    const e = entry.e;
    if (!e) return NEGATIVE;
    return {
      hit: true,
      embedding: e,
      json: () => {
        if (entry.json === undefined) {
          entry.json = embeddingJson(e);
          this.account(entry, entry.bytes + entry.json.length);
        }
        return entry.json;
      },
    };
  }

  /** A token for a read of the database whose result will be filled in. */
  beginRead(): number {
    this.reads.set(this.seq, (this.reads.get(this.seq) ?? 0) + 1);
    return this.seq;
  }

  /**
   * Stores what a read with `token` found (and, as negative entries, the ids it found
   * nothing for), except items invalidated since it began; ends the read.
   */
  fill(space: string, token: number, rows: ({ id: string } & CachedEmbedding)[], absent: string[] = []): void {
    try {
      if (!this.enabled || this.opts.maxBytes === 0 || this.clearedAt > token) return;
      const now = this.now();
      for (const r of rows) this.store(space, r.id, r, token, now + this.opts.ttlMs);
      for (const id of absent) this.store(space, id, null, token, now + this.opts.negativeTtlMs);
    } finally {
      this.endRead(token);
    }
  }

  private store(space: string, id: string, e: CachedEmbedding | null, token: number, expires: number): void {
    const k = this.key(space, id);
    if ((this.invalidated.get(k) ?? -1) > token) return;
    const old = this.map.get(k);
    if (old) {
      this.map.delete(k);
      this.used -= old.bytes;
    }
    const entry: Entry = { e, bytes: 0, expires };
    this.map.set(k, entry);
    this.account(entry, ENTRY_OVERHEAD + 2 * k.length + (e ? e.vector.byteLength : 0));
  }

  private account(entry: Entry, bytes: number): void {
    this.used += bytes - entry.bytes;
    entry.bytes = bytes;
    // Least recently used first: the Map's first keys.
    for (const [k, v] of this.map) {
      if (this.used <= this.opts.maxBytes) break;
      this.map.delete(k);
      this.used -= v.bytes;
    }
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
      for (const [k, s] of this.invalidated) if (s <= oldest) this.invalidated.delete(k);
    }
  }

  invalidate(space: string, ids: string[]): void {
    this.seq++;
    for (const id of ids) {
      const k = this.key(space, id);
      const old = this.map.get(k);
      if (old) {
        this.map.delete(k);
        this.used -= old.bytes;
      }
      if (this.reads.size) this.invalidated.set(k, this.seq);
    }
  }

  /** Drops one space's entries (its invalidation could not name the ids). */
  invalidateSpace(space: string): void {
    const prefix = `${space}\u0000`;
    const ids: string[] = [];
    for (const k of this.map.keys()) if (k.startsWith(prefix)) ids.push(k.slice(prefix.length));
    this.invalidate(space, ids);
    this.clearedAt = this.seq; // and any fill in flight, whichever ids it read
  }

  clear(): void {
    this.seq++;
    this.clearedAt = this.seq;
    this.map.clear();
    this.used = 0;
  }

  get size(): number {
    return this.map.size;
  }

  get bytes(): number {
    return this.used;
  }
}
