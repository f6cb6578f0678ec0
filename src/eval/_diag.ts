import { initEvalBackend } from './tf.js';
import { loadMl100k } from './movielens.js';
import { warmUpSplit } from './protocol.js';
import { itemTexts } from './text.js';
import { buildItemFeatures } from './features.js';
import { trainDot } from './backbone-dot.js';
import { evaluate } from './evaluate.js';
import { EmerFlowMethod } from './emerflow.js';
import { DEFAULT_BACKBONE } from './run.js';
import { unpackWeights } from '../model/artifact.js';
await initEvalBackend();
const ml = loadMl100k('../shared/data');
const split = warmUpSplit(ml);
const texts = itemTexts(ml.movies, 'llm', '../shared/data');
const feats = buildItemFeatures(ml.movies, ml.genreNames);
const bb = await trainDot(split.trainBase, 943, 1682, { ...DEFAULT_BACKBONE.dot, seed: 1 });
const configs: [string, any][] = JSON.parse(process.argv[2]!);
for (const [name, cfg] of configs) {
  const t = Date.now();
  const m = new EmerFlowMethod({ bb, split, feats, seed: 1, warmLr: 0.01, warmBatch: 128, metaEpochs: 4 }, { name: cfg.nometa ? 'emerflow-nometa' : 'emerflow', texts, hyper: cfg.hyper ?? {}, ...(cfg.plain ? { plain: cfg.plain } : {}), ...(cfg.nocf ? { crossFit: null } : {}), ...(cfg.structured !== undefined ? { structured: cfg.structured } : {}) });
  await m.fit();
  const out: string[] = [];
  out.push(evaluate(bb, m.embeddings(), split.test).auc.toFixed(4));
  for (let s = 0; s < 3; s++) { await m.warm(s, split.warm[s]!); out.push(evaluate(bb, m.embeddings(), split.test).auc.toFixed(4)); }
  const mm = m.metrics;
  console.log(name, out.join(' '), `${(Date.now() - t) / 1000}s`, JSON.stringify(Object.fromEntries(Object.entries(mm).filter(([k]) => /align(Val|Best)|metaBest|valQueryLoss_n|valQueryLossCold_n/.test(k)).map(([k, v]) => [k, +v.toFixed(4)]))));
  if (!cfg.nometa) { const w = unpackWeights((m.artifact as any).weights); const lr = Array.from(w['meta/logLr']!.values, Math.exp); const g = w['meta/gate']!.values; const gate = (n: number) => 1 / (1 + Math.exp(-(g[0]! * Math.log1p(n) + g[1]!)));
    console.log('  lr', lr.map((x) => x.toFixed(2)).join(','), 'pull', Math.exp(w['meta/logPull']!.values[0]!).toFixed(3), 'gate20/40/60', [20, 40, 60].map(gate).map((x) => x.toFixed(3)).join('/')); }
  m.dispose();
}
