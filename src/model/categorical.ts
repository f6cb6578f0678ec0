// The hashed encoder's structured channel. Fitted on the same `name: content`
// lines the text encoder reads (serializeFeatures output), generic over item
// types: a field becomes a channel when, across the fitted corpus,
//   - its content is a single number in most items (a year, a duration, a
//     price): bucketed into quantile bins, one-hot, plus one slot for
//     non-numeric content ('unknown'); or
//   - it is a list of short values (`a, b, c`; arrays serialise that way) drawn
//     from a small vocabulary that covers most occurrences (genres, country,
//     language, a rating class): multi-hot over the values seen in ≥ 2 items.
// Free text (a description), names and titles fail these tests and stay in the
// TF-IDF part only. The channel is L2-normalised as a whole and scaled by
// `weight`, next to the unit-norm TF-IDF part; no IDF, so a common genre keeps
// full weight.

export interface CategoricalOptions {
  /** scale of the normalised channel next to the unit TF-IDF part (default 2; 0 turns it off) */
  weight?: number;
  /** most distinct values (seen in ≥ 2 items) a list field may have (default 64) */
  maxValues?: number;
  /** longest value, in words, that still counts as a category (default 4) */
  maxWords?: number;
  /** bins for numeric fields, half quantile and half equal-width (default 12) */
  numericBins?: number;
}

export type CategoricalField = { name: string; kind: 'values'; values: string[] } | { name: string; kind: 'numeric'; edges: number[] };

export interface CategoricalState {
  weight: number;
  fields: CategoricalField[];
}

const NUMBER = /^[-+]?\d+(?:\.\d+)?$/;

/** field → raw content, from `name: content` lines (first occurrence of a field wins). */
function fieldsOf(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of text.split('\n')) {
    const colon = line.indexOf(':');
    if (colon <= 0) continue;
    const name = line.slice(0, colon).trim().toLowerCase();
    if (!out.has(name)) out.set(name, line.slice(colon + 1).trim());
  }
  return out;
}

function valuesOf(content: string): string[] {
  const vs = content
    .toLowerCase()
    .split(/[,;|]/)
    .map((v) => v.trim().replace(/\s+/g, ' '))
    .filter((v) => v !== '');
  return [...new Set(vs)];
}

export function fitCategorical(texts: string[], o: CategoricalOptions = {}): CategoricalState | null {
  const weight = o.weight ?? 2;
  if (!(weight > 0)) return null;
  const maxValues = o.maxValues ?? 64;
  const maxWords = o.maxWords ?? 4;
  const bins = Math.max(2, o.numericBins ?? 12);
  interface Stat {
    docs: number;
    occ: number;
    long: number;
    df: Map<string, number>;
    nums: number[];
  }
  const stats = new Map<string, Stat>();
  for (const t of texts) {
    for (const [name, content] of fieldsOf(t)) {
      let s = stats.get(name);
      if (!s) stats.set(name, (s = { docs: 0, occ: 0, long: 0, df: new Map(), nums: [] }));
      s.docs++;
      if (NUMBER.test(content)) s.nums.push(Number(content));
      for (const v of valuesOf(content)) {
        s.occ++;
        if (v.split(' ').length > maxWords) s.long++;
        s.df.set(v, (s.df.get(v) ?? 0) + 1);
      }
    }
  }
  const fields: CategoricalField[] = [];
  for (const [name, s] of [...stats].sort(([a], [b]) => (a < b ? -1 : 1))) {
    if (s.docs < 2) continue;
    if (s.nums.length >= 0.8 * s.docs && new Set(s.nums).size >= 2) {
      fields.push({ name, kind: 'numeric', edges: numericEdges(s.nums, bins) });
      continue;
    }
    if (s.long > 0.05 * s.occ) continue;
    const kept = [...s.df.entries()].filter(([, n]) => n >= 2);
    const covered = kept.reduce((a, [, n]) => a + n, 0);
    if (kept.length < 2 || kept.length > maxValues || covered < 0.5 * s.occ) continue;
    fields.push({ name, kind: 'values', values: kept.map(([v]) => v).sort() });
  }
  return fields.length ? { weight, fields } : null;
}

/**
 * Bin edges for a numeric field: half from quantiles (resolution where items
 * are dense: recent years) and half equal-width over the 2nd–98th percentile
 * range (resolution across the whole range: old years still split).
 */
function numericEdges(nums: number[], bins: number): number[] {
  const xs = [...nums].sort((a, b) => a - b);
  // The index is in [0, xs.length - 1] and xs is not empty (fitCategorical passes ≥ 2 numbers).
  const at = (q: number) => xs[Math.min(xs.length - 1, Math.floor(q * xs.length))]!;
  const qb = Math.ceil(bins / 2);
  const wb = bins - qb;
  const cand: number[] = [];
  for (let i = 1; i < qb; i++) cand.push(at(i / qb));
  const lo = at(0.02);
  const hi = at(0.98);
  for (let i = 1; i < wb && hi > lo; i++) cand.push(Math.fround(lo + ((hi - lo) * i) / wb));
  const min = at(0);
  const span = Math.max(1e-9, at(1) - min);
  const edges: number[] = [];
  let last: number | null = null;
  for (const e of cand.sort((a, b) => a - b)) {
    if (e <= min) continue;
    if (last !== null && e - last < 0.01 * span) continue;
    edges.push(e);
    last = e;
  }
  return edges;
}

export function categoricalSize(s: CategoricalState): number {
  return s.fields.reduce((a, f) => a + (f.kind === 'values' ? f.values.length : f.edges.length + 2), 0);
}

/** Writes the channel for `text` into out[offset, offset + categoricalSize). */
export function encodeCategorical(s: CategoricalState, text: string, out: Float32Array, offset: number): void {
  const fields = fieldsOf(text);
  let at = offset;
  let hot = 0;
  for (const f of s.fields) {
    const content = fields.get(f.name);
    if (f.kind === 'values') {
      if (content !== undefined) {
        for (const v of valuesOf(content)) {
          const j = binarySearch(f.values, v);
          if (j >= 0) {
            out[at + j] = 1;
            hot++;
          }
        }
      }
      at += f.values.length;
    } else {
      if (content !== undefined && content !== '') {
        if (NUMBER.test(content)) {
          const x = Number(content);
          // bin = how many edges x reaches (edges ascend): the first edge above x, else past the last
          const above = f.edges.findIndex((e) => x < e);
          out[at + (above < 0 ? f.edges.length : above)] = 1;
        } else out[at + f.edges.length + 1] = 1; // non-numeric content ('unknown')
        hot++;
      }
      at += f.edges.length + 2;
    }
  }
  if (hot > 0) {
    const scale = s.weight / Math.sqrt(hot);
    out.set(
      out.subarray(offset, at).map((x) => x * scale),
      offset,
    );
  }
}

function binarySearch(xs: string[], v: string): number {
  let lo = 0;
  let hi = xs.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const m = xs[mid]!; // lo ≤ mid ≤ hi < xs.length
    if (m === v) return mid;
    if (m < v) lo = mid + 1;
    else hi = mid - 1;
  }
  return -1;
}
