// A lookup of many ids: from the cache where it has them (nothing allocated per id), the
// rest (each distinct id once) through reads.ts, whose reads fill the cache (rows, and
// negative entries for the ids without) and are shared by every lookup missing the same id.
import { MISS, type CachedEmbedding, type EmbeddingCache } from './cache.js';
import { embeddingJson } from './fragments.js';
import type { EmbeddingReads } from './reads.js';
import { countHits, countMisses } from './metrics.js';

/** Found[i] is in `rows` or `pinned`, not a cache slot. */
const READ = -3;

/** What the caller will read of each id: the JSON, or the vector (the float32 answer). */
export type Want = 'json' | 'vector';

/**
 * What a lookup found, in request order: cache slots, or rows read. Slots are good only
 * until the event loop next turns, so read the answer out before anything awaits.
 */
export class Found {
  constructor(
    private readonly cache: EmbeddingCache,
    private readonly slots: Int32Array,
    private readonly rows?: (CachedEmbedding | undefined)[],
    /** the JSON of hits taken out of the cache before a read (want: json) */
    private readonly pinned?: (Buffer | string | undefined)[],
  ) {}

  has(i: number): boolean {
    const s = this.slots[i]!;
    return s >= 0 || (s === READ && (this.rows![i] !== undefined || this.pinned?.[i] !== undefined));
  }

  /** The vector, version and kind as JSON (see embeddingJson), for an i that `has`. */
  json(i: number): Buffer | string {
    const s = this.slots[i]!;
    return s >= 0 ? this.cache.json(s) : (this.pinned?.[i] ?? embeddingJson(this.rows![i]!));
  }

  /** Copies the vector into `out` at `at`, for an i that `has` (of a lookup that wanted vectors). */
  copyVector(i: number, out: Float32Array, at: number): void {
    const s = this.slots[i]!;
    if (s >= 0) this.cache.copyVector(s, out, at);
    else out.set(this.rows![i]!.vector, at);
  }

  /** The whole embedding (a copy), for an i that `has` and was a hit or read (not pinned). */
  embedding(i: number): CachedEmbedding {
    const s = this.slots[i]!;
    return s >= 0 ? this.cache.embedding(s) : this.rows![i]!;
  }
}

/**
 * The lookup without a wait, when the cache knows every id (a hit or a negative entry), of
 * ids given where they are in a body: id k is text[spans[2k], spans[2k + 1]). Null at the
 * first id to be read (then nothing is counted, and `lookup` goes the long way).
 */
export function cachedLookup(cache: EmbeddingCache, space: string, text: string, spans: readonly number[]): Found | null {
  const n = spans.length >> 1;
  const slots = new Int32Array(n);
  const now = Date.now();
  for (let k = 0; k < n; k++) {
    const s = cache.getIn(space, text, spans[2 * k]!, spans[2 * k + 1]!, now);
    if (s === MISS) return null;
    slots[k] = s;
  }
  countHits(space, n);
  return new Found(cache, slots);
}

export async function lookup(
  deps: { cache: EmbeddingCache; reads: EmbeddingReads },
  space: string,
  ids: readonly string[],
  want: Want,
): Promise<Found> {
  const { cache } = deps;
  const slots = new Int32Array(ids.length);
  let missed: number[] | undefined;
  const now = Date.now();
  for (let i = 0; i < ids.length; i++) {
    const s = cache.get(space, ids[i]!, now);
    slots[i] = s;
    if (s === MISS) (missed ??= []).push(i);
  }
  countHits(space, ids.length - (missed?.length ?? 0));
  if (!missed) return new Found(cache, slots);
  // The query yields, and the cache may reuse a slot meanwhile: what the answer needs of the
  // hits is taken out first (their kept JSON is taken as it is, not made again).
  const rows = new Array<CachedEmbedding | undefined>(ids.length);
  const pinned = want === 'json' ? new Array<Buffer | string | undefined>(ids.length) : undefined;
  for (let i = 0; i < ids.length; i++) {
    const s = slots[i]!;
    if (s >= 0) {
      if (pinned) pinned[i] = cache.json(s);
      else rows[i] = cache.embedding(s);
    }
    slots[i] = READ;
  }
  const misses = [...new Set(missed.map((i) => ids[i]!))];
  countMisses(space, misses.length);
  const read = await deps.reads.read(space, misses);
  const got = new Map<string, CachedEmbedding>();
  for (let k = 0; k < misses.length; k++) if (read[k]) got.set(misses[k]!, read[k]!);
  for (const i of missed) rows[i] = got.get(ids[i]!);
  return new Found(cache, slots, rows, pinned);
}
