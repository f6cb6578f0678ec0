// The meta rule's gradients (second order through the inner steps) against
// central finite differences, and the three implementations of the rule
// (closed-form dot gradient, autodiff for custom scorers, plain-JS runtime)
// against each other.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { initBackend, tf, dotScorer, makeRng, type Scorer } from '../../src/model/index.js';
import { adaptTf, refineDotJs, type MetaTensors } from '../../src/model/refine-rule.js';

before(async () => {
  await initBackend({ prefer: ['cpu'] }); // float32 either way; cpu keeps FD noise lowest
});

const B = 3,
  n = 6,
  d = 4,
  q = 5;
const rng = makeRng(11);
const rand = (len: number, s = 1) => Float32Array.from({ length: len }, () => rng.normal() * s);
const e0 = rand(B * d, 0.5);
const cs = rand(B * n * d, 0.8);
const ys = Float32Array.from({ length: B * n }, () => (rng.next() < 0.5 ? 1 : 0));
const cq = rand(B * q * d, 0.8);
const yq = Float32Array.from({ length: B * q }, () => (rng.next() < 0.5 ? 1 : 0));
const meta0 = { logLr: rand(d, 0.3), logPull: Float32Array.of(0.2), gate: Float32Array.of(0.4, 0.3) };

/** A scorer equal to the dot product but without the closed-form shortcut. */
const autodiffDot: Scorer = { name: 'dot-autodiff', logits: dotScorer.logits };

function outerLoss(m: MetaTensors, E0: tf.Tensor2D, scorer: Scorer, firstOrder = false): tf.Scalar {
  const E = adaptTf(m, E0, tf.tensor3d(cs, [B, n, d]), tf.tensor2d(ys, [B, n]), { steps: 3, scorer, firstOrder });
  const z = tf.reshape(tf.matMul(tf.tensor3d(cq, [B, q, d]), tf.reshape(E, [B, d, 1])), [B, q]);
  return tf.mean(tf.sub(tf.softplus(z), tf.mul(tf.tensor2d(yq, [B, q]), z))) as tf.Scalar;
}

function lossAt(values: { logLr: Float32Array; logPull: Float32Array; gate: Float32Array; e0: Float32Array }, scorer: Scorer): number {
  return tf.tidy(
    () =>
      outerLoss(
        { logLr: tf.tensor1d(values.logLr), logPull: tf.tensor1d(values.logPull), gate: tf.tensor1d(values.gate) },
        tf.tensor2d(values.e0, [B, d]),
        scorer,
      ).dataSync()[0] as number,
  );
}

for (const scorer of [dotScorer, autodiffDot]) {
  test(`second-order gradients match finite differences (${scorer.name})`, () => {
    const grads = tf.tidy(() => {
      const f = (a: tf.Tensor, b: tf.Tensor, c: tf.Tensor, e: tf.Tensor) =>
        outerLoss({ logLr: a as tf.Tensor1D, logPull: b as tf.Tensor1D, gate: c as tf.Tensor1D }, e as tf.Tensor2D, scorer);
      return tf
        .grads(f)([tf.tensor1d(meta0.logLr), tf.tensor1d(meta0.logPull), tf.tensor1d(meta0.gate), tf.tensor2d(e0, [B, d])])
        .map((g) => Float32Array.from(g.dataSync()));
    });
    const base = { ...meta0, e0 };
    const keys = ['logLr', 'logPull', 'gate', 'e0'] as const;
    const eps = 1e-2;
    keys.forEach((key, ki) => {
      const arr = base[key];
      for (let i = 0; i < arr.length; i++) {
        const plus = Float32Array.from(arr);
        plus[i] = plus[i]! + eps;
        const minus = Float32Array.from(arr);
        minus[i] = minus[i]! - eps;
        const fd = (lossAt({ ...base, [key]: plus }, scorer) - lossAt({ ...base, [key]: minus }, scorer)) / (2 * eps);
        const an = grads[ki]![i]!;
        assert.ok(Math.abs(fd - an) <= 2e-3 + 0.03 * Math.abs(fd), `${key}[${i}]: analytic ${an} vs finite difference ${fd}`);
      }
    });
  });
}

test('first-order gradients drop only the Hessian terms', () => {
  const [g1, g2] = [true, false].map((fo) =>
    tf.tidy(() => {
      const f = (a: tf.Tensor, e: tf.Tensor) =>
        outerLoss(
          { logLr: a as tf.Tensor1D, logPull: tf.tensor1d(meta0.logPull), gate: tf.tensor1d(meta0.gate) },
          e as tf.Tensor2D,
          dotScorer,
          fo,
        );
      return tf
        .grads(f)([tf.tensor1d(meta0.logLr), tf.tensor2d(e0, [B, d])])
        .map((g) => Float32Array.from(g.dataSync()));
    }),
  );
  // Same sign and rough size for the step sizes; not identical.
  g1![0]!.forEach((v, i) => assert.ok(Math.sign(v) === Math.sign(g2![0]![i]!) || Math.abs(v) < 1e-3));
  assert.notDeepEqual(Array.from(g1![1]!), Array.from(g2![1]!));
});

test('closed-form, autodiff and plain-JS refinement agree (with a step that grows with n)', () => {
  // slope 0.7 at refN 3: n interactions scale every step by ((1+n)/4)^0.7, the same in both
  const slope = 0.7;
  const refN = 3;
  const viaTf = (scorer: Scorer) =>
    tf.tidy(
      () =>
        adaptTf(
          {
            logLr: tf.tensor1d(meta0.logLr),
            logPull: tf.tensor1d(meta0.logPull),
            gate: tf.tensor1d(meta0.gate),
            lrSlope: tf.tensor1d([slope]),
          },
          tf.tensor2d(e0, [B, d]),
          tf.tensor3d(cs, [B, n, d]),
          tf.tensor2d(ys, [B, n]),
          { steps: 3, scorer, refN },
        ).dataSync() as Float32Array,
    );
  const a = viaTf(dotScorer);
  const b = viaTf(autodiffDot);
  const mv = {
    lr: meta0.logLr.map(Math.exp),
    pull: Math.exp(meta0.logPull[0]!),
    gateA: meta0.gate[0]!,
    gateB: meta0.gate[1]!,
    lrSlope: slope,
    refN,
  };
  // and the slope is not a no-op
  const flat = refineDotJs(
    { ...mv, lrSlope: 0 },
    3,
    e0.slice(0, d),
    Array.from({ length: n }, (_, j) => cs.slice(j * d, (j + 1) * d)),
    ys.slice(0, n),
  );
  assert.ok(
    Array.from(flat).some((v, k) => Math.abs(v - a[k]!) > 1e-4),
    'slope changes the result',
  );
  for (let i = 0; i < B; i++) {
    const js = refineDotJs(
      mv,
      3,
      e0.slice(i * d, (i + 1) * d),
      Array.from({ length: n }, (_, j) => cs.slice((i * n + j) * d, (i * n + j + 1) * d)),
      ys.slice(i * n, (i + 1) * n),
    );
    for (let k = 0; k < d; k++) {
      assert.ok(Math.abs(js[k]! - a[i * d + k]!) < 1e-4, `js vs closed form at ${i},${k}`);
      assert.ok(Math.abs(b[i * d + k]! - a[i * d + k]!) < 1e-4, `autodiff vs closed form at ${i},${k}`);
    }
  }
});
