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
for (const [epochs, lr, l2, batch] of [[10,0.01,0.1,512],[10,0.01,0.3,512],[20,0.01,0.1,512]] as const) {
  const t = Date.now();
  const bb = await trainDot(tr, 943, 1682, { seed: 1, dim: 16, epochs, lr, l2, batch });
  const v = evaluate(bb, bb.itemEmb, val); const trn = evaluate(bb, bb.itemEmb, tr.slice(0, 5000));
  const ob = await trainDot(orc, 943, 1682, { seed: 1, dim: 16, epochs, lr, l2, batch });
  const o = evaluate(ob, ob.itemEmb, s.test);
  console.log(epochs, lr, l2, batch, 'train', trn.auc.toFixed(4), 'val', v.auc.toFixed(4), 'oracle', o.auc.toFixed(4), (Date.now()-t)/1000);
}
