// A trained model as plain JSON: weights as base64 float32, plus everything
// needed to rebuild and audit it (encoder state, seed, hyper-parameters,
// metrics). The lead stores it in Postgres; every worker loads the same bytes.
import type { EncoderState } from './encoder.js';

export interface ModelArtifact {
  format: 'emerflow/1';
  dim: number;
  inputDim: number;
  encoder: EncoderState;
  seed: number;
  weights: Record<string, { shape: number[]; data: string /* base64 float32 */ }>;
  hyper: Record<string, number | string | boolean>;
  metrics: Record<string, number>;
  trainedAt: string;
}

export interface NamedWeight {
  shape: number[];
  values: Float32Array;
}

function encodeFloat32(values: Float32Array): string {
  return Buffer.from(values.buffer, values.byteOffset, values.byteLength).toString('base64');
}

function decodeFloat32(data: string): Float32Array {
  const buf = Buffer.from(data, 'base64');
  // Copy into a fresh, aligned buffer: Buffer pools may be unaligned for Float32Array.
  const out = new Float32Array(buf.byteLength / 4);
  new Uint8Array(out.buffer).set(buf);
  return out;
}

/** Entries in name order (code-unit order, as a plain sort of the keys), so output never depends on insertion order. */
export function byName<T>(r: Record<string, T>): [string, T][] {
  return Object.entries(r).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
}

export function packWeights(ws: Record<string, NamedWeight>): ModelArtifact['weights'] {
  const out: ModelArtifact['weights'] = {};
  for (const [name, w] of byName(ws)) out[name] = { shape: [...w.shape], data: encodeFloat32(w.values) };
  return out;
}

export function unpackWeights(ws: ModelArtifact['weights']): Record<string, NamedWeight> {
  const out: Record<string, NamedWeight> = {};
  for (const [name, w] of Object.entries(ws)) {
    const values = decodeFloat32(w.data);
    const size = w.shape.reduce((a, b) => a * b, 1);
    if (values.length !== size) throw new Error(`weight ${name}: ${values.length} values for shape [${w.shape}]`);
    out[name] = { shape: [...w.shape], values };
  }
  return out;
}

/** Throws with a clear message when the JSON is not a usable artifact. */
export function validateArtifact(a: ModelArtifact): void {
  if (!a || a.format !== 'emerflow/1') throw new Error('not an emerflow/1 model artifact');
  if (!(a.dim > 0) || !(a.inputDim > 0)) throw new Error('model artifact has no dimensions');
  for (const name of ['align/b', 'align/Wlin', 'meta/logLr', 'meta/logPull', 'meta/gate']) {
    if (!a.weights[name]) throw new Error(`model artifact lacks weight ${name}`);
  }
}

/** The name of the first weight with a value that is not finite (NaN, ±Infinity), or null. */
export function nonFiniteWeight(a: ModelArtifact): string | null {
  for (const [name, w] of byName(a.weights)) if (!decodeFloat32(w.data).every(Number.isFinite)) return name;
  return null;
}
