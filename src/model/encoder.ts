// Text encoders. The offline default is hashed TF-IDF over words, word bigrams
// and field-scoped words: no network, deterministic, and rare tokens (names,
// titles, places) keep a high weight instead of vanishing as in a small dense
// model. IDF is learned from the space's own items and travels in the model.
//
// TF-IDF drowns short, low-cardinality fields (a genre list, a year, a
// country): their tokens are common, so their IDF is low, yet they are the
// features that generalise best across items. The fit therefore also finds
// such fields in the `name: content` lines (see categorical.ts) and appends a
// separate one-hot / multi-hot channel for them, without IDF, normalised and
// weighted; its vocabulary travels in the state. Nothing here knows any
// particular item type.
import { hash32, hashHex } from './hash.js';
import { fitCategorical, encodeCategorical, categoricalSize, type CategoricalState, type CategoricalOptions } from './categorical.js';

export interface EncoderId {
  name: string;
  dim: number;
  version: string;
}

export interface TextEncoder {
  readonly id: EncoderId;
  encode(texts: string[]): Promise<Float32Array[]>;
}

export type EncoderState =
  | {
      kind: 'hashed-tfidf';
      dim: number;
      /** IDF of tokens seen in at least two fitted texts; others get `defaultIdf`. */
      idf: Record<string, number>;
      defaultIdf: number;
      docs: number;
      /** Structured-field channel appended after the `dim` hashed dims (absent in older states: none). */
      categorical?: CategoricalState;
    }
  | { kind: 'external'; id: EncoderId };

type HashedTfidfState = Extract<EncoderState, { kind: 'hashed-tfidf' }>;

const HASHED_TFIDF_NAME = 'hashed-tfidf';

const WORD = /[\p{L}\p{N}]+/gu;

/** Tokens of a serialised item: words, adjacent-word bigrams, and `field=word`. */
function tokenize(text: string): string[] {
  const out: string[] = [];
  for (const rawLine of text.split('\n')) {
    const colon = rawLine.indexOf(':');
    const field = colon > 0 ? rawLine.slice(0, colon).trim().toLowerCase() : '';
    const content = colon > 0 ? rawLine.slice(colon + 1) : rawLine;
    let prev: string | null = null;
    for (const w of content.toLowerCase().match(WORD) ?? []) {
      out.push(`w:${w}`);
      if (field) out.push(`f:${field}=${w}`);
      if (prev !== null) out.push(`b:${prev}_${w}`);
      prev = w;
    }
  }
  return out;
}

function counts(tokens: string[]): Map<string, number> {
  const m = new Map<string, number>();
  for (const t of tokens) m.set(t, (m.get(t) ?? 0) + 1);
  return m;
}

function smoothIdf(docs: number, df: number): number {
  return Math.log((1 + docs) / (1 + df)) + 1;
}

function fitHashedTfidfState(texts: string[], dim = 1024, categorical: CategoricalOptions | false = {}): HashedTfidfState {
  const df = new Map<string, number>();
  for (const t of texts) for (const tok of new Set(tokenize(t))) df.set(tok, (df.get(tok) ?? 0) + 1);
  const idf: Record<string, number> = {};
  // Sorted keys: the state (and its version hash) must not depend on input order.
  for (const [tok, n] of [...df].sort(([a], [b]) => (a < b ? -1 : 1))) {
    if (n >= 2) idf[tok] = Math.fround(smoothIdf(texts.length, n));
  }
  const state: HashedTfidfState = {
    kind: 'hashed-tfidf',
    dim,
    idf,
    defaultIdf: Math.fround(smoothIdf(texts.length, 1)),
    docs: texts.length,
  };
  if (categorical !== false) {
    const cat = fitCategorical(texts, categorical);
    if (cat) state.categorical = cat;
  }
  return state;
}

/** Length of the vectors a hashed state produces: hashed dims plus the structured channel. */
function hashedOutputDim(state: HashedTfidfState): number {
  return state.dim + (state.categorical ? categoricalSize(state.categorical) : 0);
}

function encodeHashedSync(state: HashedTfidfState, text: string): Float32Array {
  const v = new Float32Array(hashedOutputDim(state));
  for (const [tok, c] of counts(tokenize(text))) {
    const h = hash32(tok);
    const sign = h & 0x80000000 ? -1 : 1; // signed hashing keeps collisions unbiased
    const w = (1 + Math.log(c)) * (state.idf[tok] ?? state.defaultIdf);
    const j = h % state.dim;
    v[j] = v[j]! + sign * w; // j < state.dim ≤ v.length
  }
  const tfidf = v.subarray(0, state.dim);
  let norm = 0;
  for (const x of tfidf) norm += x ** 2;
  norm = Math.sqrt(norm);
  if (norm > 0) tfidf.set(tfidf.map((x) => x / norm));
  if (state.categorical) encodeCategorical(state.categorical, text, v, state.dim);
  return v;
}

function hashedId(state: HashedTfidfState): EncoderId {
  if (!state.categorical) {
    // States without the structured channel keep their original identity.
    const sig = hashHex(JSON.stringify([state.dim, state.defaultIdf, state.docs, state.idf]));
    return { name: HASHED_TFIDF_NAME, dim: state.dim, version: `1-${sig}` };
  }
  const sig = hashHex(JSON.stringify([state.dim, state.defaultIdf, state.docs, state.idf, state.categorical]));
  return { name: HASHED_TFIDF_NAME, dim: hashedOutputDim(state), version: `2-${sig}` };
}

export type HashedTfidfEncoder = TextEncoder & {
  state(): EncoderState;
  encodeSync(texts: string[]): Float32Array[];
};

function hashedEncoder(state: HashedTfidfState): HashedTfidfEncoder {
  const id = hashedId(state);
  const encodeSync = (texts: string[]) => texts.map((t) => encodeHashedSync(state, t));
  return {
    id,
    state: () => state,
    encodeSync,
    encode: async (texts) => encodeSync(texts),
  };
}

export interface HashedTfidfOptions {
  /** hashed TF-IDF dims (default 1024) */
  dim?: number;
  /** structured-field channel (categorical.ts); `false` turns it off. Default: on, weight 2. */
  categorical?: CategoricalOptions | false;
}

/**
 * Fits the offline encoder on the space's serialised items (`serializeFeatures`
 * texts). Output vectors have `id.dim` = `dim` + the structured channel's size.
 */
export function fitHashedTfidf(texts: string[], opts: HashedTfidfOptions = {}): HashedTfidfEncoder {
  return hashedEncoder(fitHashedTfidfState(texts, opts.dim ?? 1024, opts.categorical ?? {}));
}

/** Rebuilds the offline encoder from a stored state; null for 'external' (the caller supplies it). */
export function encoderFromState(state: EncoderState): HashedTfidfEncoder | null {
  return state.kind === 'hashed-tfidf' ? hashedEncoder(state) : null;
}

/** The identity stored next to every vector an encoder made. */
export function encoderIdOf(state: EncoderState): EncoderId {
  return state.kind === 'hashed-tfidf' ? hashedId(state) : state.id;
}
