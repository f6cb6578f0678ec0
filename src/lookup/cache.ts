// The hot path's memory: the newest embedding of each (space, item), served without a
// database round trip. Entries are dropped when a new version is written (Redis
// pub/sub reaches every API process). A fill that raced with an invalidation is
// discarded: `epoch` counts invalidations, and a read that saw an older epoch does not
// store what it read.
export interface CachedEmbedding {
  vector: Float32Array;
  version: number;
  kind: string;
  /** `"vector":[…],"version":n,"kind":"…"`, made on first use: serialising the numbers
   * is most of a lookup's cost, and a cached entry is served many times. */
  json?: string;
}

export function embeddingJson(e: CachedEmbedding): string {
  if (e.json === undefined)
    e.json = `"vector":${JSON.stringify(Array.from(e.vector))},"version":${e.version},"kind":${JSON.stringify(e.kind)}`;
  return e.json;
}

export class EmbeddingCache {
  private map = new Map<string, CachedEmbedding>();
  private epochNow = 0;
  // Off while the invalidation feed is down: without it, entries could go stale.
  private enabled = true;

  constructor(private max: number) {}

  get epoch(): number {
    return this.epochNow;
  }

  private key(space: string, id: string): string {
    return `${space}\u0000${id}`;
  }

  setEnabled(on: boolean): void {
    this.enabled = on;
    this.clear();
  }

  get(space: string, id: string): CachedEmbedding | undefined {
    if (!this.enabled) return undefined;
    return this.map.get(this.key(space, id));
  }

  /** Stores what was read at `epoch`, unless something was invalidated since. */
  fill(space: string, rows: { id: string; vector: Float32Array; version: number; kind: string }[], epoch: number): void {
    if (epoch !== this.epochNow || this.max === 0 || !this.enabled) return;
    for (const r of rows) {
      // Map keeps insertion order: the first key is the oldest one (FIFO eviction).
      if (this.map.size >= this.max) this.map.delete(this.map.keys().next().value as string);
      this.map.set(this.key(space, r.id), { vector: r.vector, version: r.version, kind: r.kind });
    }
  }

  invalidate(space: string, ids: string[]): void {
    this.epochNow++;
    for (const id of ids) this.map.delete(this.key(space, id));
  }

  clear(): void {
    this.epochNow++;
    this.map.clear();
  }

  get size(): number {
    return this.map.size;
  }
}
