// The hot path's memory: the newest embedding of each (space, item), served without a
// database round trip, and the ids known to have none (negative entries).
//
// - Stored as columns, not objects: an entry is a slot number, its fields are elements of
//   typed arrays indexed by it, its vector is a row of the VectorHeap and its id is code
//   units in the IdIndex's arena (id-index.ts, the open-addressing table from id to slot):
//   no object at all per entry. At a million entries, an object per entry (with a
//   Float32Array and a JSON Buffer each) was 2,400 bytes an item and put the p99 at 5× its
//   value at 10,000 items; a Map of the id strings still cost ~80 bytes an item and major
//   collections with 10-25 ms steps every few seconds.
// - Bounded by bytes (an estimate of what each entry holds). Eviction is CLOCK (second
//   chance): a hit only sets the slot's reference bit, and the hand sweeping the slots evicts
//   the first entry not referenced since its last pass. It keeps hot items as LRU does, but a
//   hit writes nothing to the index.
// - The JSON of a vector (most of a JSON answer's cost to make) is kept for hot entries
//   only, in a share of the budget (JSON_SHARE) with a CLOCK and an admission rule of its
//   own (fragments.ts).
// - Every entry has a deadline (TTL): the safety net should an invalidation ever be lost.
//   An entry served since it was stored is checked against Postgres before it (refreshDue,
//   renewIfCurrent; ttl-refresh.ts), so hot entries do not expire under their readers: after
//   a warm start or a full warm-up, every entry would otherwise reach its deadline within the
//   same minute and each one's next reader would miss (at a million items, 12 % of a 100-id
//   lookup's ids a few minutes later). An entry found current, by a check or by a read of the
//   same embedding, is renewed in place, keeping its vector row and JSON fragment.
// - Fill guards per item (fill-guards.ts): a read's fill skips exactly the items invalidated
//   since it began, so a stream of writes to some items never discards fills of the others.
// - Entries are dropped on invalidation (a NOTIFY from the writing transaction, see
//   invalidation.ts); while that feed is down the cache serves and stores nothing.
import { FillGuards } from './fill-guards.js';
import { embeddingJson, JsonFragments } from './fragments.js';
import { EntryColumns } from './entry-columns.js';
import { IdIndex } from './id-index.js';
import { VectorHeap } from './vector-heap.js';

export interface CachedEmbedding {
  vector: Float32Array;
  version: number;
  kind: string;
  interactions: number;
  modelVersion: number | null;
  updatedAt: Date;
}

/** Told what the cache drops: who reads ahead for it, and must not hand out reads older than a drop. */
export interface CacheWatcher {
  /** `ids` were invalidated; `cached` are those of them the cache held an embedding for. */
  invalidated(space: string, ids: readonly string[], cached: readonly string[]): void;
  /** All of a space's entries were dropped (its invalidation could not name the ids). */
  spaceInvalidated(space: string): void;
  /** Everything was dropped (an unreadable notification, the invalidation feed lost or back). */
  cleared(): void;
}

export interface CacheOptions {
  maxBytes: number;
  ttlMs: number;
  negativeTtlMs: number;
  now?: () => number;
}

/** `get`: not cached. */
export const MISS = -1;
/** `get`: cached as having no embedding (a negative entry). */
export const ABSENT = -2;

/** What an entry costs besides its id (2 bytes a character) and vector: its columns (40 bytes) and index (12, and 8-16 of table). */
const ENTRY_OVERHEAD = 72;
/** The part of the budget JSON fragments may hold. */
const JSON_SHARE = 1 / 8;

// flags
const USED = 1;
/** Read since the entry hand last passed. */
const REF = 2;
const NEGATIVE = 4;
/** Served since it was stored (or renewed): checked ahead of its deadline. */
const SERVED = 8;

export class EmbeddingCache {
  /** (space number, id) → slot, in typed arrays (id-index.ts) */
  private index = new IdIndex();
  private spaceNames: string[] = [];
  private spaceNumbers = new Map<string, number>();
  private kindNames: string[] = [];
  private kindNumbers = new Map<string, number>();

  // ---- the entries' columns, indexed by slot; `top` slots have ever been used ----
  private c = new EntryColumns();
  private top = 0;
  private freeSlots: number[] = [];
  private heap = new VectorHeap();

  private hand = 0;
  /** where refreshDue looks next */
  private refreshHand = 0;
  private count = 0;
  private used = 0;
  private readonly fragments: JsonFragments;

  private guards = new FillGuards();
  // Off while the invalidation feed is down: without it, entries could go stale.
  private enabled = true;
  private readonly now: () => number;
  private watcher: CacheWatcher | undefined;

  constructor(private readonly opts: CacheOptions) {
    this.now = opts.now ?? Date.now;
    this.fragments = new JsonFragments(Math.floor(opts.maxBytes * JSON_SHARE));
  }

  setEnabled(on: boolean): void {
    this.enabled = on;
    this.clear();
  }

  /**
   * The entry's slot (≥ 0), ABSENT or MISS. A slot is good until the cache next changes:
   * read it (vector, json, version…) before anything yields to the event loop.
   */
  get(space: string, id: string, now = this.now()): number {
    return this.getIn(space, id, 0, id.length, now);
  }

  /** `get` of the id that is s[from, to) (IdIndex.findIn). */
  getIn(space: string, s: string, from: number, to: number, now: number): number {
    if (!this.enabled) return MISS;
    const n = this.spaceNumbers.get(space);
    if (n === undefined) return MISS;
    const slot = this.index.findIn(n, s, from, to);
    if (slot < 0) return MISS;
    if (this.c.expiresOf[slot]! <= now) {
      this.remove(slot);
      return MISS;
    }
    const f = this.c.flags[slot]!;
    this.c.flags[slot] = f | REF | SERVED;
    return f & NEGATIVE ? ABSENT : slot;
  }

  // ---- an entry's fields, by the slot `get` gave ----
  /** A view of the cached vector (no copy). */
  vector(slot: number): Float32Array {
    return this.heap.view(this.c.vectorAt[slot]!, this.c.dimOf[slot]!);
  }
  copyVector(slot: number, out: Float32Array, at: number): void {
    this.heap.copy(this.c.vectorAt[slot]!, this.c.dimOf[slot]!, out, at);
  }
  version(slot: number): number {
    return this.c.versionOf[slot]!;
  }
  kind(slot: number): string {
    return this.kindNames[this.c.kindOf[slot]!]!;
  }
  interactions(slot: number): number {
    return this.c.interactionsOf[slot]!;
  }
  modelVersion(slot: number): number | null {
    const m = this.c.modelOf[slot]!;
    return m < 0 ? null : m;
  }
  updatedMs(slot: number): number {
    return this.c.updatedOf[slot]!;
  }
  /** The entry as a row of its own (a copy: it outlives the slot). */
  embedding(slot: number): CachedEmbedding {
    return {
      vector: this.vector(slot).slice(),
      version: this.version(slot),
      kind: this.kind(slot),
      interactions: this.interactions(slot),
      modelVersion: this.modelVersion(slot),
      updatedAt: new Date(this.updatedMs(slot)),
    };
  }

  /** `"vector":[…],"version":n,"kind":"…"`: the kept bytes when the entry is hot, else made now (a string). */
  json(slot: number): Buffer | string {
    const kept = this.fragments.get(slot);
    if (kept) return kept;
    const text = embeddingJson({ vector: this.vector(slot), version: this.c.versionOf[slot]!, kind: this.kind(slot) });
    return this.fragments.offer(slot, text, this.opts.maxBytes - this.used);
  }

  /** A token for a read of the database whose result will be filled in. */
  beginRead(): number {
    return this.guards.begin();
  }

  /**
   * Stores what a read with `token` found (and, as negative entries, the ids it found
   * nothing for), except items invalidated since it began; ends the read.
   */
  fill(space: string, token: number, rows: readonly ({ id: string } & CachedEmbedding)[], absent: readonly string[] = []): void {
    try {
      if (!this.enabled || this.opts.maxBytes === 0 || !this.guards.mayFill(token)) return;
      const now = this.now();
      const stale = this.guards.staleSince(space, token);
      for (const r of rows) {
        if (stale(r.id)) continue;
        this.store(space, r.id, r, ENTRY_OVERHEAD + 2 * r.id.length + r.vector.byteLength, now + this.opts.ttlMs);
      }
      for (const id of absent) {
        if (stale(id)) continue;
        this.store(space, id, null, ENTRY_OVERHEAD + 2 * id.length, now + this.opts.negativeTtlMs);
      }
    } finally {
      this.guards.end(token);
    }
  }

  private store(space: string, id: string, e: CachedEmbedding | null, bytes: number, expires: number): void {
    const n = this.spaceNumber(space);
    const old = this.index.find(n, id);
    if (old >= 0) {
      if (e && this.holds(old, e)) return this.renew(old, e, expires);
      this.remove(old);
    }
    const slot = this.freeSlots.pop() ?? this.newSlot();
    this.index.insert(n, id, slot);
    this.c.bytesOf[slot] = bytes;
    this.c.expiresOf[slot] = expires;
    if (e) {
      const dim = e.vector.length;
      const at = this.heap.alloc(dim);
      this.heap.write(at, e.vector);
      this.c.vectorAt[slot] = at;
      this.c.dimOf[slot] = dim;
      this.c.versionOf[slot] = e.version;
      this.c.kindOf[slot] = this.kindNumber(e.kind);
      this.c.interactionsOf[slot] = e.interactions;
      this.c.modelOf[slot] = e.modelVersion ?? -1;
      this.c.updatedOf[slot] = e.updatedAt.getTime();
      this.c.flags[slot] = USED;
    } else {
      this.c.dimOf[slot] = 0;
      this.c.flags[slot] = USED | NEGATIVE;
    }
    this.count++;
    this.used += bytes;
    if (this.used + this.fragments.bytes > this.opts.maxBytes) this.evict(slot);
  }

  /** Whether the slot holds that version of an embedding (a version and its write time name it: rows are never changed). */
  private isVersion(slot: number, version: number, updatedAt: Date): boolean {
    return (this.c.flags[slot]! & NEGATIVE) === 0 && this.c.versionOf[slot] === version && this.c.updatedOf[slot] === updatedAt.getTime();
  }

  /** Whether the slot holds `e`'s embedding already (the same version of it: its vector, version and kind). */
  private holds(slot: number, e: CachedEmbedding): boolean {
    return (
      this.isVersion(slot, e.version, e.updatedAt) &&
      this.c.dimOf[slot] === e.vector.length &&
      this.c.kindOf[slot] === this.kindNumbers.get(e.kind)
    );
  }

  /**
   * What a check with `token` found each id serving now: the entries that still hold it get a
   * new deadline (their vectors and fragments stay); ends the read. The ids whose entry holds
   * something else, or that serve nothing now, are returned, to be read whole. Ids invalidated
   * since the check began, or no longer cached, are neither renewed nor returned (an
   * invalidation reads its cached ids again itself).
   */
  renewIfCurrent(
    space: string,
    token: number,
    ids: readonly string[],
    stamps: readonly { id: string; version: number; updatedAt: Date }[],
  ): string[] {
    const changed: string[] = [];
    try {
      const n = this.spaceNumbers.get(space);
      if (!this.enabled || n === undefined || !this.guards.mayFill(token)) return changed;
      const stale = this.guards.staleSince(space, token);
      const now = this.now();
      const byId = new Map(stamps.map((s) => [s.id, s]));
      for (const id of ids) {
        const slot = this.index.find(n, id);
        if (slot < 0 || stale(id) || this.c.flags[slot]! & NEGATIVE) continue;
        const s = byId.get(id);
        if (s && this.isVersion(slot, s.version, s.updatedAt)) {
          this.c.expiresOf[slot] = now + this.opts.ttlMs;
          this.c.flags[slot] = this.c.flags[slot]! & ~SERVED;
        } else changed.push(id);
      }
      return changed;
    } finally {
      this.guards.end(token);
    }
  }

  /** A re-read found what the slot holds: a new deadline, and its vector and JSON fragment stay. */
  private renew(slot: number, e: CachedEmbedding, expires: number): void {
    this.c.expiresOf[slot] = expires;
    this.c.interactionsOf[slot] = e.interactions;
    this.c.modelOf[slot] = e.modelVersion ?? -1;
    this.c.flags[slot] = this.c.flags[slot]! & ~SERVED;
  }

  /**
   * The ids, by space, of the entries among the refresh hand's next `steps` slots that were
   * served since they were stored and whose deadline is less than `horizonMs` away (it sweeps
   * every slot in turn; ttl-refresh.ts has them checked). Negative entries are left to expire.
   */
  refreshDue(steps: number, horizonMs: number, now = this.now()): Map<string, string[]> {
    const due = new Map<string, string[]>();
    if (!this.enabled) return due;
    for (let k = Math.min(steps, this.top); k > 0; k--) {
      if (this.refreshHand >= this.top) this.refreshHand = 0;
      const s = this.refreshHand++;
      if ((this.c.flags[s]! & (USED | SERVED | NEGATIVE)) !== (USED | SERVED)) continue;
      const left = this.c.expiresOf[s]! - now;
      if (left <= 0 || left > horizonMs) continue;
      const space = this.spaceNames[this.index.spaceOf(s)]!;
      let ids = due.get(space);
      if (!ids) due.set(space, (ids = []));
      ids.push(this.index.idOf(s));
    }
    return due;
  }

  /** Slots ever used: what refreshDue's hand sweeps. */
  get slots(): number {
    return this.top;
  }

  private newSlot(): number {
    if (this.top === this.c.capacity) {
      const n = Math.max(1024, this.c.capacity * 2);
      this.c.grow(n);
      this.index.reserve(n);
      this.fragments.reserve(n);
    }
    return this.top++;
  }

  private spaceNumber(space: string): number {
    let n = this.spaceNumbers.get(space);
    if (n === undefined) {
      n = this.spaceNames.push(space) - 1;
      this.spaceNumbers.set(space, n);
    }
    return n;
  }

  private kindNumber(kind: string): number {
    let n = this.kindNumbers.get(kind);
    if (n === undefined) {
      if (this.kindNames.length === 255) throw new Error('more than 255 embedding kinds');
      n = this.kindNames.push(kind) - 1;
      this.kindNumbers.set(kind, n);
    }
    return n;
  }

  /** The hand sweeps until the bound holds: a referenced entry loses its bit and stays, the first one without goes. */
  private evict(keep: number): void {
    // Two turns at most: the first clears every bit it passes.
    for (let steps = 2 * this.top; this.used + this.fragments.bytes > this.opts.maxBytes && steps > 0; steps--) {
      if (this.hand >= this.top) this.hand = 0;
      const s = this.hand++;
      const f = this.c.flags[s]!;
      if (!(f & USED) || s === keep) continue;
      if (f & REF) this.c.flags[s] = f & ~REF;
      else this.remove(s);
    }
    // Only the new entry left, and it alone is over the bound.
    if (this.used + this.fragments.bytes > this.opts.maxBytes) this.remove(keep);
  }

  private remove(slot: number): void {
    if (!(this.c.flags[slot]! & USED)) return;
    this.index.delete(slot);
    if (this.c.dimOf[slot]! > 0) this.heap.release(this.c.vectorAt[slot]!, this.c.dimOf[slot]!);
    this.fragments.drop(slot);
    this.c.flags[slot] = 0;
    this.freeSlots.push(slot);
    this.count--;
    this.used -= this.c.bytesOf[slot]!;
  }

  /** Ends a read whose result will not be filled in (it failed). */
  cancelRead(token: number): void {
    this.guards.end(token);
  }

  /** Tells `w` of every invalidation and clear (reads.ts: its reads in flight, its refresh-ahead). */
  watch(w: CacheWatcher): void {
    this.watcher = w;
  }

  invalidate(space: string, ids: readonly string[]): void {
    this.guards.invalidate(space, ids);
    const n = this.spaceNumbers.get(space);
    const cached: string[] = [];
    for (const id of ids) {
      const old = n === undefined ? -1 : this.index.find(n, id);
      if (old >= 0) {
        if ((this.c.flags[old]! & NEGATIVE) === 0) cached.push(id);
        this.remove(old);
      }
    }
    this.watcher?.invalidated(space, ids, cached);
  }

  /** Drops one space's entries (its invalidation could not name the ids). */
  invalidateSpace(space: string): void {
    this.watcher?.spaceInvalidated(space);
    const n = this.spaceNumbers.get(space);
    const ids: string[] = [];
    if (n !== undefined)
      for (let s = 0; s < this.top; s++) if (this.c.flags[s]! & USED && this.index.spaceOf(s) === n) ids.push(this.index.idOf(s));
    this.invalidate(space, ids);
    this.guards.discardInFlight(); // and any fill in flight, whichever ids it read
  }

  clear(): void {
    this.guards.cleared();
    this.watcher?.cleared();
    this.index.clear();
    this.c = new EntryColumns();
    this.top = 0;
    this.freeSlots = [];
    this.fragments.clear();
    this.heap.reset();
    this.hand = this.refreshHand = this.count = this.used = 0;
  }

  get size(): number {
    return this.count;
  }

  /** Estimated bytes held: entries and kept JSON fragments. */
  get bytes(): number {
    return this.used + this.fragments.bytes;
  }

  /** Of `bytes`, the kept JSON fragments'. */
  get jsonBytes(): number {
    return this.fragments.bytes;
  }
}
