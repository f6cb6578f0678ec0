// A deterministic synthetic recommender for the benchmarks: users with vectors, items
// with a hidden vector and features whose words carry it (topics), labels drawn from
// sigmoid(u·v). Every user and item is computed from (seed, kind, index) alone, so the
// bench process and its load-generator process agree without shipping vectors around.
// Same recipe as test/support/fixtures.ts makeWorld, indexable.

import { mulberry32 } from '../../src/model/prng.js';

/** Item families: b = established (has a base embedding), e = emerging (stream),
 *  p = probe (emerging, events only from probes), n = new emerging items trickled in. */
export type ItemKind = 'b' | 'e' | 'p' | 'n';

export const TOPICS = [
  'space',
  'romance',
  'crime',
  'comedy',
  'war',
  'horror',
  'musical',
  'western',
  'heist',
  'sports',
  'fantasy',
  'documentary',
];
const MOODS = ['dark', 'gentle', 'loud', 'quiet', 'strange', 'warm', 'cold', 'bright'];

/** The one seeded RNG of the project (src/model/prng.ts). */
export const rng = mulberry32;

/** A 32-bit hash of a few integers (murmur3 finaliser over a running mix). */
export function mix(...xs: number[]): number {
  let h = 0x811c9dc5;
  for (const x of xs) {
    h = Math.imul(h ^ (x >>> 0), 0x01000193) >>> 0;
    h ^= h >>> 16;
    h = Math.imul(h, 0x85ebca6b) >>> 0;
    h ^= h >>> 13;
    h = Math.imul(h, 0xc2b2ae35) >>> 0;
    h ^= h >>> 16;
  }
  return h >>> 0;
}

export function gaussian(r: () => number): number {
  return Math.sqrt(-2 * Math.log(r() + 1e-12)) * Math.cos(2 * Math.PI * r());
}

export interface SynthItem {
  id: string;
  index: number;
  vector: number[];
  features: Record<string, unknown>;
}

export class World {
  private readonly topicVecs: number[][];
  private readonly userCache = new Map<number, number[]>();
  private readonly itemCache = new Map<string, SynthItem>();

  constructor(
    readonly seed: number,
    readonly dim: number,
    readonly users: number,
  ) {
    const r = rng(mix(seed, 0x70));
    // Scaled so that u·v has a standard deviation of a few units whatever the dimension.
    const scale = Math.sqrt(8 / dim);
    this.topicVecs = TOPICS.map(() => Array.from({ length: dim }, () => gaussian(r) * scale));
  }

  userId(u: number): string {
    return `u${u}`;
  }

  userVector(u: number): number[] {
    let v = this.userCache.get(u);
    if (!v) {
      const r = rng(mix(this.seed, 0x75, u));
      v = Array.from({ length: this.dim }, () => gaussian(r) * 0.8);
      this.userCache.set(u, v);
    }
    return v;
  }

  itemId(kind: ItemKind, i: number): string {
    return `${kind}${i}`;
  }

  item(kind: ItemKind, i: number): SynthItem {
    const id = this.itemId(kind, i);
    const hit = this.itemCache.get(id);
    if (hit) return hit;
    const r = rng(mix(this.seed, kind.charCodeAt(0), i));
    const a = Math.floor(r() * TOPICS.length);
    const b = (a + 1 + Math.floor(r() * (TOPICS.length - 1))) % TOPICS.length;
    const mood = MOODS[Math.floor(r() * MOODS.length)]!;
    const noise = Math.sqrt(8 / this.dim) * 0.1;
    const vector = this.topicVecs[a]!.map((x, d) => 0.7 * x + 0.3 * this.topicVecs[b]![d]! + noise * gaussian(r));
    const item: SynthItem = {
      id,
      index: i,
      vector,
      features: {
        title: `The ${mood} ${TOPICS[a]} ${i}`,
        genres: [TOPICS[a], TOPICS[b]],
        summary: `A ${mood} ${TOPICS[a]} story with ${TOPICS[b]} moments`,
        year: 1950 + (i % 75),
      },
    };
    // Only the small families are cached: 100,000 emerging items are regenerated on demand.
    if (kind !== 'e' && kind !== 'n') this.itemCache.set(id, item);
    return item;
  }

  /** A label drawn from sigmoid(u·v) of user u and the item's hidden vector. */
  label(u: number, itemVector: number[], r: () => number): 0 | 1 {
    const uv = this.userVector(u);
    let s = 0;
    for (let d = 0; d < this.dim; d++) s += uv[d]! * itemVector[d]!;
    return (r() < 1 / (1 + Math.exp(-s)) ? 1 : 0) as 0 | 1;
  }
}
