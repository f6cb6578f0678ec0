// Dense item side-information for the baselines: year (one-hot), genres (multi-hot) and title words
// (bag of words) — the item features MetaEmb, MWUF, CVAR and EmerG use on MovieLens.
import { tf } from './tf.js';
import type { Movie } from './movielens.js';

export interface ItemFeatures {
  /** [nItems, nYears] one-hot, [nItems, nGenres] multi-hot, [nItems, nWords] counts; row = item id - 1 */
  year: tf.Tensor2D;
  genres: tf.Tensor2D;
  title: tf.Tensor2D;
  sizes: { year: number; genres: number; title: number };
}

const titleWords = (title: string): string[] =>
  title
    .replace(/\s*\(\d{4}\)\s*$/, '')
    .toLowerCase()
    .match(/\w+/g) ?? [];

/** Year buckets by half-decade keep the one-hot small and give old films shared rows. */
const yearBucket = (y: number | null): string => (y === null ? 'unk' : y < 1950 ? '<1950' : String(y - (y % 5)));

export function buildItemFeatures(movies: Movie[], genreNames: string[]): ItemFeatures {
  const n = Math.max(...movies.map((m) => m.id));
  const years = new Map<string, number>();
  const words = new Map<string, number>();
  const wordCount = new Map<string, number>();
  for (const m of movies) for (const w of new Set(titleWords(m.title))) wordCount.set(w, (wordCount.get(w) ?? 0) + 1);
  for (const m of movies) {
    const yb = yearBucket(m.year);
    if (!years.has(yb)) years.set(yb, years.size);
    // words seen once cannot generalise between items; they would only act as an id
    for (const w of titleWords(m.title)) if ((wordCount.get(w) ?? 0) >= 2 && !words.has(w)) words.set(w, words.size);
  }
  const genres = genreNames.filter((g) => g && g !== 'unknown');
  const Y = new Float32Array(n * years.size);
  const G = new Float32Array(n * genres.length);
  const T = new Float32Array(n * words.size);
  for (const m of movies) {
    const r = m.id - 1;
    Y[r * years.size + years.get(yearBucket(m.year))!] = 1; // every movie's bucket was added above
    for (const g of m.genres) {
      const j = genres.indexOf(g);
      if (j >= 0) G[r * genres.length + j] = 1;
    }
    for (const w of titleWords(m.title)) {
      const j = words.get(w);
      if (j === undefined) continue;
      const at = r * words.size + j; // r < n, j < words.size: inside T
      T[at] = T[at]! + 1;
    }
  }
  return {
    year: tf.tensor2d(Y, [n, years.size]),
    genres: tf.tensor2d(G, [n, genres.length]),
    title: tf.tensor2d(T, [n, words.size]),
    sizes: { year: years.size, genres: genres.length, title: words.size },
  };
}

/** A method's own trainable field embeddings (one table per field), concatenated per item: [n, 3·dim]. */
export class SideEmbedding {
  readonly vars: tf.Variable[];
  constructor(
    private readonly f: ItemFeatures,
    dim: number,
    seed: number,
  ) {
    const init = (rows: number, s: number) => tf.variable(tf.randomUniform([rows, dim], -0.01, 0.01, 'float32', seed + s));
    this.vars = [init(f.sizes.year, 1), init(f.sizes.genres, 2), init(f.sizes.title, 3)];
  }
  /** items: int32 item rows (id - 1) */
  embed(items: tf.Tensor1D): tf.Tensor2D {
    const [wy, wg, wt] = this.vars as [tf.Variable, tf.Variable, tf.Variable];
    // sum-pooling, as CVAR's 'seq' fields
    return tf.concat(
      [
        tf.matMul(tf.gather(this.f.year, items), wy),
        tf.matMul(tf.gather(this.f.genres, items), wg),
        tf.matMul(tf.gather(this.f.title, items), wt),
      ],
      1,
    ) as tf.Tensor2D;
  }
  dispose(): void {
    for (const v of this.vars) v.dispose();
  }
}
