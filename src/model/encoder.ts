// Text encoders. The offline default is hashed TF-IDF over words, word bigrams
// and field-scoped words: no network, deterministic, and rare tokens (names,
// titles, places) keep a high weight instead of vanishing as in a small dense
// model. IDF is learned from the space's own items and travels in the model.
import { hash32, hashHex } from './hash.js';

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
    }
  | { kind: 'external'; id: EncoderId };

export type HashedTfidfState = Extract<EncoderState, { kind: 'hashed-tfidf' }>;

export const HASHED_TFIDF_NAME = 'hashed-tfidf';

const WORD = /[\p{L}\p{N}]+/gu;

/** Tokens of a serialised item: words, adjacent-word bigrams, and `field=word`. */
export function tokenize(text: string): string[] {
  const out: string[] = [];
  for (const rawLine of text.split('\n')) {
    const colon = rawLine.indexOf(':');
    const field = colon > 0 ? rawLine.slice(0, colon).trim().toLowerCase() : '';
    const content = colon > 0 ? rawLine.slice(colon + 1) : rawLine;
    const words = content.toLowerCase().match(WORD) ?? [];
    for (let i = 0; i < words.length; i++) {
      const w = words[i] as string;
      out.push(`w:${w}`);
      if (field) out.push(`f:${field}=${w}`);
      if (i > 0) out.push(`b:${words[i - 1]}_${w}`);
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

export function fitHashedTfidfState(texts: string[], dim = 1024): HashedTfidfState {
  const df = new Map<string, number>();
  for (const t of texts) for (const tok of new Set(tokenize(t))) df.set(tok, (df.get(tok) ?? 0) + 1);
  const idf: Record<string, number> = {};
  // Sorted keys: the state (and its version hash) must not depend on input order.
  for (const tok of [...df.keys()].sort()) {
    const n = df.get(tok) as number;
    if (n >= 2) idf[tok] = Math.fround(smoothIdf(texts.length, n));
  }
  return { kind: 'hashed-tfidf', dim, idf, defaultIdf: Math.fround(smoothIdf(texts.length, 1)), docs: texts.length };
}

export function encodeHashedSync(state: HashedTfidfState, text: string): Float32Array {
  const v = new Float32Array(state.dim);
  for (const [tok, c] of counts(tokenize(text))) {
    const h = hash32(tok);
    const sign = h & 0x80000000 ? -1 : 1; // signed hashing keeps collisions unbiased
    const w = (1 + Math.log(c)) * (state.idf[tok] ?? state.defaultIdf);
    v[h % state.dim] += sign * w;
  }
  let norm = 0;
  for (let i = 0; i < v.length; i++) norm += (v[i] as number) ** 2;
  norm = Math.sqrt(norm);
  if (norm > 0) for (let i = 0; i < v.length; i++) v[i] = (v[i] as number) / norm;
  return v;
}

function hashedId(state: HashedTfidfState): EncoderId {
  const sig = hashHex(JSON.stringify([state.dim, state.defaultIdf, state.docs, state.idf]));
  return { name: HASHED_TFIDF_NAME, dim: state.dim, version: `1-${sig}` };
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

export function fitHashedTfidf(texts: string[], opts: { dim?: number } = {}): HashedTfidfEncoder {
  return hashedEncoder(fitHashedTfidfState(texts, opts.dim ?? 1024));
}

/** Rebuilds the offline encoder from a stored state; null for 'external' (the caller supplies it). */
export function encoderFromState(state: EncoderState): HashedTfidfEncoder | null {
  return state.kind === 'hashed-tfidf' ? hashedEncoder(state) : null;
}

/** The identity stored next to every vector an encoder made. */
export function encoderIdOf(state: EncoderState): EncoderId {
  return state.kind === 'hashed-tfidf' ? hashedId(state) : state.id;
}

export function sameEncoder(a: EncoderId, b: EncoderId): boolean {
  return a.name === b.name && a.dim === b.dim && a.version === b.version;
}
