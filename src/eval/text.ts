// Item text for EmerFlow: raw features (title, year, genres) plus, per --text, the LLM paragraph
// (ml1m-recagent, joined by exact title) or the IMDb catalogue text (by ML-100k id).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Movie } from './movielens.js';

export type TextMode = 'llm' | 'imdb' | 'none';

/** Minimal RFC-4180 CSV parser (quoted fields, doubled quotes, newlines inside quotes). */
export function parseCsv(src: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = '';
  let q = false;
  for (let i = 0; i < src.length; i++) {
    const c = src[i]!;
    if (q) {
      if (c === '"') {
        if (src[i + 1] === '"') {
          field += '"';
          i++;
        } else q = false;
      } else field += c;
    } else if (c === '"') q = true;
    else if (c === ',') {
      row.push(field);
      field = '';
    } else if (c === '\n' || c === '\r') {
      if (c === '\r' && src[i + 1] === '\n') i++;
      row.push(field);
      field = '';
      rows.push(row);
      row = [];
    } else field += c;
  }
  if (field.length > 0 || row.length > 0) {
    row.push(field);
    rows.push(row);
  }
  return rows;
}

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

export interface ItemText {
  raw: Record<string, unknown>;
  enrichment: Record<string, string> | null;
}

/** Raw features every method may use, and the enrichment only EmerFlow's text path sees. */
export function itemTexts(movies: Movie[], mode: TextMode, dataDir: string): Map<number, ItemText> {
  const llm = mode === 'llm' ? loadLlmText(dataDir) : null;
  const imdb = mode === 'imdb' ? loadImdbText(dataDir) : null;
  const out = new Map<number, ItemText>();
  for (const mv of movies) {
    const raw: Record<string, unknown> = {
      title: mv.title.replace(/\s*\(\d{4}\)\s*$/, ''),
      year: mv.year ?? 'unknown',
      genres: mv.genres.join(', '),
    };
    let enrichment: Record<string, string> | null = null;
    const para = llm?.get(mv.title);
    if (para) enrichment = { description: para };
    const im = imdb?.get(mv.id);
    if (im) enrichment = im;
    out.set(mv.id, { raw, enrichment });
  }
  return out;
}
