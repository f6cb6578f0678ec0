import { initEvalBackend } from './tf.js';
import { loadMl100k } from './movielens.js';
import { warmUpSplit } from './protocol.js';
import { trainDot } from './backbone-dot.js';
import { evaluate } from './evaluate.js';
import { mulberry32, shuffled } from './rng.js';
await initEvalBackend();
const ml = loadMl100k('../shared/data');
const s = warmUpSplit(ml);
const rows = shuffled(s.trainBase, mulberry32(9));
const nv = Math.floor(rows.length * 0.1);
const val = rows.slice(0, nv), tr = rows.slice(nv);
const orc = [...s.trainBase, ...s.warm[0], ...s.warm[1], ...s.warm[2]];
for (const [epochs, lr, l2, batch] of [[10,0.01,1e-4,512],[20,0.005,1e-3,512],[10,0.01,1e-3,512],[30,0.003,3e-4,256], [10, 0.01, 3e-3, 512]] as const) {
  const t = Date.now();
  const bb = await trainDot(tr, 943, 1682, { seed: 1, dim: 16, epochs, lr, l2, batch });
  const v = evaluate(bb, bb.itemEmb, val);
  const ob = await trainDot(orc, 943, 1682, { seed: 1, dim: 16, epochs, lr, l2, batch });
  const o = evaluate(ob, ob.itemEmb, s.test);
  console.log(epochs, lr, l2, batch, 'val', v.auc.toFixed(4), 'oracle', o.auc.toFixed(4), (Date.now()-t)/1000);
}
