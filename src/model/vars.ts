// Small helpers shared by the training stages: named weights ↔ tf.Variables,
// the logistic loss, and dropout masks drawn from the seeded PRNG (not tf's
// RNG) so runs are reproducible on every backend.
import { tf } from './tf.js';
import { byName, type NamedWeight } from './artifact.js';
import type { Rng } from './prng.js';

export type Vars = Record<string, tf.Variable>;

export function toVariables(ws: Record<string, NamedWeight>): Vars {
  const out: Vars = {};
  for (const [name, w] of byName(ws)) {
    out[name] = tf.variable(tf.tensor(w.values, w.shape), true, `${name}#${Math.random().toString(36).slice(2)}`);
  }
  return out;
}

export function snapshot(vars: Vars): Record<string, NamedWeight> {
  const out: Record<string, NamedWeight> = {};
  for (const [name, v] of Object.entries(vars))
    out[name] = { shape: [...v.shape], values: Float32Array.from(v.dataSync() as Float32Array) };
  return out;
}

export function assign(vars: Vars, ws: Record<string, NamedWeight>): void {
  for (const [name, v] of Object.entries(vars)) {
    const w = ws[name];
    if (w) v.assign(tf.tensor(w.values, w.shape));
  }
}

export function disposeVars(vars: Vars): void {
  for (const v of Object.values(vars)) v.dispose();
}

/** The variable `name`; throws when it is missing (a bug: every stage works on the same set). */
export function need(vars: Vars, name: string): tf.Variable {
  const v = vars[name];
  if (!v) throw new Error(`training has no weight ${name}`);
  return v;
}

/** The variables whose names start with `prefix`, in the object's order. */
export function withPrefix(vars: Vars, prefix: string): tf.Variable[] {
  return Object.entries(vars)
    .filter(([k]) => k.startsWith(prefix))
    .map(([, v]) => v);
}

/** The two values of a two-element tensor. */
export function readPair(t: tf.Tensor): [number, number] {
  const [a, b] = t.dataSync();
  if (t.size !== 2 || a === undefined || b === undefined) throw new Error(`expected a two-element tensor, got shape [${t.shape}]`);
  return [a, b];
}

/** The value of a one-element tensor (a loss). */
export function readScalar(t: tf.Tensor): number {
  const v = t.dataSync()[0];
  if (v === undefined) throw new Error(`expected a one-element tensor, got shape [${t.shape}]`);
  return v;
}

/** Mean binary cross-entropy from logits, numerically stable. */
export function bce(z: tf.Tensor, y: tf.Tensor): tf.Scalar {
  return tf.mean(tf.sub(tf.softplus(z), tf.mul(y, z))) as tf.Scalar;
}

/** Inverted-dropout mask [rows, cols] from the seeded PRNG. */
export function dropoutMask(rows: number, cols: number, rate: number, rng: Rng): Float32Array {
  const m = new Float32Array(rows * cols);
  const keep = 1 / (1 - rate);
  for (let i = 0; i < m.length; i++) m[i] = rng.next() < rate ? 0 : keep;
  return m;
}

export function throwIfAborted(signal?: AbortSignal): void {
  if (signal?.aborted) {
    const err = new Error('training aborted');
    err.name = 'AbortError';
    throw err;
  }
}
