// A small synthetic recommender: users and items with known embeddings, labels drawn
// from sigmoid(u·v), and item features whose words carry the item's embedding (so a
// content model can learn it). Deterministic for a seed.
import { mulberry32 } from '../../src/model/prng.js';

// The repo's one seeded RNG (src/model/prng.ts), under the name the test helpers use.
export { mulberry32 as rng };

export interface World {
  dim: number;
  users: { id: string; vector: number[] }[];
  items: { id: string; vector: number[]; features: Record<string, unknown> }[];
  label(userIdx: number, itemIdx: number): 0 | 1;
}

const TOPICS = ['space', 'romance', 'crime', 'comedy', 'war', 'horror', 'musical', 'western'];

export function makeWorld(opts: { dim?: number; users?: number; items?: number; seed?: number } = {}): World {
  const dim = opts.dim ?? 8;
  const r = mulberry32(opts.seed ?? 1);
  const gauss = () => Math.sqrt(-2 * Math.log(r() + 1e-12)) * Math.cos(2 * Math.PI * r());
  const topicVecs = TOPICS.map(() => Array.from({ length: dim }, () => gauss()));
  const users = Array.from({ length: opts.users ?? 60 }, (_, i) => ({
    id: `u${i}`,
    vector: Array.from({ length: dim }, () => gauss() * 0.8),
  }));
  const items = Array.from({ length: opts.items ?? 80 }, (_, i) => {
    const a = Math.floor(r() * TOPICS.length);
    const b = (a + 1 + Math.floor(r() * (TOPICS.length - 1))) % TOPICS.length;
    const vector = topicVecs[a]!.map((x, d) => 0.7 * x + 0.3 * topicVecs[b]![d]! + 0.1 * gauss());
    return {
      id: `m${i}`,
      vector,
      features: { title: `Film ${i}`, genres: [TOPICS[a], TOPICS[b]], summary: `A ${TOPICS[a]} story with ${TOPICS[b]} moments` },
    };
  });
  const label = (u: number, it: number) => {
    const s = users[u]!.vector.reduce((acc, x, d) => acc + x * items[it]!.vector[d]!, 0);
    return (r() < 1 / (1 + Math.exp(-s)) ? 1 : 0) as 0 | 1;
  };
  return { dim, users, items, label };
}
