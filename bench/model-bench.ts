// Model benchmark, side by side in one run:
//  1. training time and GFLOP/s on the active backend vs the plain cpu backend
//     (same data, same fixed work: early stopping off), with the machine's
//     512×512 matmul rate on each backend as the ceiling;
//  2. first- vs second-order meta-learning: time and held-out query loss;
//  3. refinement latency per item (median, p99) for 20, 60, 200 interactions.
// Run: npx tsx bench/model-bench.ts   (BENCH_QUICK=1 for a smaller run)
import { initBackend, trainEmerFlow, loadModel, tf, type Scorer, dotScorer } from '../src/model/index.js';
import { syntheticSpace } from '../src/model/synthetic.js';

const quick = process.env.BENCH_QUICK === '1';
const encoder = { kind: 'external' as const, id: { name: 'bench', dim: 256, version: '1' } };
const space = syntheticSpace({
  seed: 1,
  dim: 32,
  inputDim: 256,
  users: 943,
  established: 117,
  perEstablished: 220,
  emerging: 10,
  perEmerging: 200,
});
const fixedWork = {
  alignEpochs: quick ? 10 : 30,
  metaSteps: quick ? 10 : 30,
  folds: 2,
  alignPatience: 1e9,
  metaPatience: 1e9,
  evalEvery: 10,
};

/** A training metric the benchmark reports; throws when the model stopped reporting it. */
function metric(art: { metrics: Record<string, number> }, name: string): number {
  const v = art.metrics[name];
  if (v === undefined) throw new Error(`the trained model reports no metric ${name}`);
  return v;
}

function matmulGflops(): number {
  const a = tf.randomNormal([512, 512], 0, 1, 'float32', 1);
  const b = tf.randomNormal([512, 512], 0, 1, 'float32', 2);
  tf.matMul(a, b).dataSync(); // warm-up
  const reps = 5;
  const t = performance.now();
  // dataSync outside tidy: tidy walks a returned typed array element by element (40x slower here).
  for (let i = 0; i < reps; i++) {
    const c = tf.matMul(a, b);
    c.dataSync();
    c.dispose();
  }
  const s = (performance.now() - t) / 1000;
  tf.dispose([a, b]);
  return (reps * 2 * 512 ** 3) / s / 1e9;
}

async function trainRow(label: string) {
  const mm = matmulGflops();
  const t = performance.now();
  const art = await trainEmerFlow(space.data, { seed: 1, encoder, ...fixedWork });
  const s = (performance.now() - t) / 1000;
  const gflop = metric(art, 'approxGflop');
  return {
    backend: label,
    'train s': +s.toFixed(2),
    'model GFLOP': +gflop.toFixed(3),
    'GFLOP/s': +(gflop / s).toFixed(3),
    'matmul512 GFLOP/s': +mm.toFixed(2),
  };
}

function pct(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  const v = s[Math.min(s.length - 1, Math.floor(p * s.length))];
  if (v === undefined) throw new Error('percentile of no samples');
  return v;
}

const active = await initBackend();
console.log(`active backend: ${active.name} — ${active.detail}\n`);

console.log('1. Training (fixed work, early stopping off)');
const rows = [await trainRow(active.name)];
if (active.name !== 'cpu') {
  await initBackend({ prefer: ['cpu'], force: true });
  rows.push(await trainRow('cpu'));
  await initBackend({ prefer: [active.name], force: true });
}
console.table(rows);
if (rows[1]) console.log(`speed-up of ${active.name} over cpu: ${(rows[1]['train s'] / rows[0]!['train s']).toFixed(1)}x\n`);

console.log('2. First- vs second-order meta-learning (early stopping on, same seed)');
const orderRows = [];
let firstOrder: ReturnType<typeof loadModel> | null = null;
for (const order of ['first', 'second'] as const) {
  const t = performance.now();
  const art = await trainEmerFlow(space.data, { seed: 2, encoder, order, alignEpochs: quick ? 40 : 150, metaSteps: quick ? 40 : 200 });
  const s = (performance.now() - t) / 1000;
  const m = (name: string) => metric(art, name);
  orderRows.push({
    order,
    'meta s': +(m('metaMs') / 1000).toFixed(2),
    'ms/meta step': +(m('metaMs') / m('metaSteps')).toFixed(1),
    'total s': +s.toFixed(2),
    'val loss (mean over phases)': +m('metaValLoss').toFixed(4),
    'val n=0': +m('valQueryLoss_n0').toFixed(4),
    'val n=20': +m('valQueryLoss_n20').toFixed(4),
    'val n=60': +m('valQueryLoss_n60').toFixed(4),
  });
  if (order === 'first') firstOrder = loadModel(art);
}
console.table(orderRows);
if (!firstOrder) throw new Error('no first-order model was trained');
const model = firstOrder;

console.log('\n3. Refinement latency per item (dim 32)');
const customDot: Scorer = { name: 'dot-as-custom', logits: dotScorer.logits }; // forces the TF.js path
const artForTf = await trainEmerFlow(space.data, { seed: 3, encoder, alignEpochs: 5, metaSteps: 5, folds: 0 });
const tfModel = loadModel(artForTf, customDot);
const latRows = [];
for (const n of [20, 60, 200]) {
  const item = space.emerging[0]!; // the space has 10 emerging items
  const inter = item.interactions.slice(0, n).map((x) => ({ ctx: space.users[x.ctx]!, label: x.label })); // ctx indexes users
  const cold = model.align([item.r])[0]!; // one vector in, one out
  const timeIt = (f: () => void, reps: number) => {
    for (let i = 0; i < 20; i++) f();
    const ts: number[] = [];
    for (let i = 0; i < reps; i++) {
      const t = performance.now();
      f();
      ts.push(performance.now() - t);
    }
    return ts;
  };
  const js = timeIt(() => model.refine(cold, inter), quick ? 500 : 3000);
  const viaTf = timeIt(() => tfModel.refine(cold, inter), quick ? 50 : 300);
  latRows.push({
    interactions: n,
    'dot (JS) median ms': +pct(js, 0.5).toFixed(4),
    'dot (JS) p99 ms': +pct(js, 0.99).toFixed(4),
    [`custom scorer (TF.js ${active.name}) median ms`]: +pct(viaTf, 0.5).toFixed(3),
    [`custom scorer p99 ms`]: +pct(viaTf, 0.99).toFixed(3),
  });
}
console.table(latRows);
model.dispose();
tfModel.dispose();
