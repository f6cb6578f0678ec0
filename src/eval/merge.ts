// Merges results.json files of the same evaluation run per seed (e.g. one process per seed on a
// many-core machine) into one: per-seed scores are concatenated and means/stds recomputed, so the
// output is what one `--seeds 1,2,3` run writes. Seeds are independent (each trains its own
// backbone from its seed), which is what makes this exact.
import { meanStd } from './metrics.js';
import type { EvalResults, ResultRow } from './run.js';

export function mergeResults(parts: EvalResults[]): EvalResults {
  if (!parts.length) throw new Error('nothing to merge');
  const first = parts[0]!;
  for (const p of parts) {
    for (const key of ['dataset', 'backbone', 'text'] as const) {
      if (p[key] !== first[key]) throw new Error(`cannot merge: ${key} differs (${first[key]} vs ${p[key]})`);
    }
    const methods = (r: EvalResults) => [...new Set(r.results.map((x) => x.method))].join(',');
    if (methods(p) !== methods(first)) throw new Error(`cannot merge: methods differ (${methods(first)} vs ${methods(p)})`);
  }
  const seeds = parts.flatMap((p) => p.protocol.seeds);
  if (new Set(seeds).size !== seeds.length) throw new Error(`cannot merge: seed listed twice (${seeds.join(',')})`);
  const mergeRows = (get: (p: EvalResults) => ResultRow[]): ResultRow[] =>
    get(first).map((row) => {
      const perSeed = parts
        .flatMap((p) => get(p).find((x) => x.method === row.method && x.stage === row.stage)?.perSeed ?? [])
        .sort((a, b) => a.seed - b.seed);
      const a = meanStd(perSeed.map((x) => x.auc));
      const f = meanStd(perSeed.map((x) => x.f1));
      return { method: row.method, stage: row.stage, auc: a.mean, aucStd: a.std, f1: f.mean, f1Std: f.std, perSeed };
    });
  const results = mergeRows((p) => p.results);
  if (parts.some((p) => !p.retrain !== !first.retrain)) throw new Error('cannot merge: some parts are --retrain runs and some are not');
  const retrain = first.retrain && {
    ...first.retrain,
    maps: parts.flatMap((p) => p.retrain!.maps).sort((a, b) => a.seed - b.seed),
    mapVariants: mergeRows((p) => p.retrain!.mapVariants),
  };
  // the oracle keeps only mean/std per part: combine them as a pooled mean and variance over seeds
  const n = parts.map((p) => p.protocol.seeds.length);
  const total = n.reduce((x, y) => x + y, 0);
  const pooled = (get: (p: EvalResults) => { m: number; s: number }) => {
    const mean = parts.reduce((acc, p, i) => acc + get(p).m * n[i]!, 0) / total;
    const ss = parts.reduce((acc, p, i) => acc + n[i]! * (get(p).s ** 2 + (get(p).m - mean) ** 2), 0);
    return { mean, std: Math.sqrt(ss / total) };
  };
  const oa = pooled((p) => ({ m: p.oracle.auc, s: p.oracle.aucStd }));
  const of = pooled((p) => ({ m: p.oracle.f1, s: p.oracle.f1Std }));
  const methodSeconds: Record<string, number> = {};
  for (const p of parts) for (const [k, v] of Object.entries(p.methodSeconds)) methodSeconds[k] = (methodSeconds[k] ?? 0) + v;
  return {
    ...first,
    protocol: { ...first.protocol, seeds: [...seeds].sort((a, b) => a - b) },
    results,
    oracle: { auc: oa.mean, aucStd: oa.std, f1: of.mean, f1Std: of.std },
    seconds: parts.reduce((acc, p) => acc + p.seconds, 0),
    methodSeconds,
    errors: Object.assign({}, ...parts.map((p) => p.errors)),
    ...(retrain ? { retrain } : {}),
  };
}
