// MovieLens-100k (the shared data's ml-100k/) in the generic form. Numbers are the ML ids (items in
// u.item order, users in u.user order) and `order` is u.data's line order, so the warm-up split is
// the one the papers use. Item text per --text: the LLM paragraph from ml1m-recagent (joined by exact
// title, which ML-100k and ML-1M write alike) or the IMDb catalogue text (by ML-100k id).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadMl100k } from '../movielens.js';
import type { TextMode } from '../text.js';
import { parseCsv } from './csv.js';
import type { Dataset, DatasetItem, FeatureValue } from './types.js';

export const ML_100K = 'ml-100k';

/** title → LLM paragraph from RecAgent's ML-1M item.csv. */
function loadLlmText(dataDir: string): Map<string, string> {
  const rows = parseCsv(readFileSync(join(dataDir, 'ml1m-recagent', 'item.csv'), 'utf8'));
  const m = new Map<string, string>();
  for (const r of rows.slice(1)) if (r.length >= 4 && r[1] && r[3]) m.set(r[1], r[3]);
  return m;
}

interface ImdbRow {
  movie_id: number;
  description?: string;
  director?: string[];
  writer?: string[];
  cast?: string[];
}

/** movie id → IMDb fields. Rating and review count are dropped: collected years later, they leak popularity. */
function loadImdbText(dataDir: string): Map<number, Record<string, string>> {
  const rows = JSON.parse(readFileSync(join(dataDir, 'ml100k-imdb', 'movielens100k_details.json'), 'utf8')) as ImdbRow[];
  const m = new Map<number, Record<string, string>>();
  for (const r of rows) {
    const rec: Record<string, string> = {};
    if (r.description) rec.description = r.description;
    if (r.director?.length) rec.director = r.director.join(', ');
    if (r.writer?.length) rec.writer = r.writer.join(', ');
    if (r.cast?.length) rec.cast = r.cast.slice(0, 8).join(', ');
    if (Object.keys(rec).length > 0) m.set(r.movie_id, rec);
  }
  return m;
}

/** Numbering by list position is only the ML ids when the files list ids 1..n in order. */
function checkIds(file: string, ids: number[]): void {
  ids.forEach((id, j) => {
    if (id !== j + 1) throw new Error(`${file}: line ${j + 1} has id ${id}, expected ${j + 1} (ids 1..n in file order)`);
  });
}

/** ML-100k from `dataDir`/ml-100k; label = rating ≥ `positive`. */
export function ml100kDataset(dataDir: string, text: TextMode, positive = 4): Dataset {
  const ml = loadMl100k(dataDir);
  checkIds(
    'ml-100k/u.item',
    ml.movies.map((m) => m.id),
  );
  checkIds(
    'ml-100k/u.user',
    ml.users.map((u) => u.id),
  );
  const llm = text === 'llm' ? loadLlmText(dataDir) : null;
  const imdb = text === 'imdb' ? loadImdbText(dataDir) : null;
  const items: DatasetItem[] = ml.movies.map((m) => {
    const features: Record<string, FeatureValue> = { title: m.title.replace(/\s*\(\d{4}\)\s*$/, '') };
    if (m.year !== null) features.year = m.year;
    features.genres = m.genres;
    const para = llm?.get(m.title);
    return { id: String(m.id), features, text: imdb?.get(m.id) ?? (para ? { description: para } : null) };
  });
  const users = ml.users.map((u) => ({
    id: String(u.id),
    features: { age: u.age, gender: u.gender, occupation: u.occupation, zip: u.zip },
  }));
  const interactions = ml.ratings.map((r) => {
    if (!(r.user >= 1 && r.user <= users.length && r.item >= 1 && r.item <= items.length))
      throw new Error(`ml-100k/u.data: line ${r.order + 1} names user ${r.user}, item ${r.item}, not in u.user / u.item`);
    return { user: r.user, item: r.item, label: r.rating >= positive ? (1 as const) : (0 as const), ts: r.ts, order: r.order };
  });
  return { name: ML_100K, items, users, interactions };
}
