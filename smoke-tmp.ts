import { initBackend, trainEmerFlow, loadModel, refinePlain } from './src/model/index.js';
import { syntheticSpace } from './src/model/synthetic.js';
await initBackend();
const s = syntheticSpace({ seed: Number(process.env.SEED ?? 1), perEmerging: 160 });
const extra = JSON.parse(process.env.HYP ?? '{}');
const dot = (a: Float32Array, b: Float32Array) => a.reduce((acc, x, i) => acc + x * b[i]!, 0);
function auc(scores: number[], labels: number[]) {
  const idx = scores.map((_, i) => i).sort((a, b) => scores[a]! - scores[b]!);
  let rank = 0, pos = 0, sum = 0;
  for (const i of idx) { rank++; if (labels[i]) { pos++; sum += rank; } }
  const neg = labels.length - pos; return (sum - pos * (pos + 1) / 2) / (pos * neg);
}
for (const order of ['first', 'second'] as const) {
  const t = Date.now();
  const art = await trainEmerFlow(s.data, { seed: 7, encoder: { kind: 'external', id: { name: 'x', dim: 64, version: '1' } }, order, ...extra });
  const mm = art.metrics;
  console.log(order, Date.now() - t, 'ms', 'metaBest', mm.metaBestStep, 'align', mm.alignBestEpoch, Object.entries(mm).filter(([k]) => k.startsWith('valQ')).map(([k, v]) => k.replace('valQueryLoss', '') + '=' + v.toFixed(3)).join(' '));
  const m = loadModel(art);
  const dist = (a: Float32Array, b: Float32Array) => Math.sqrt(a.reduce((acc, x, i) => acc + (x - b[i]!) ** 2, 0));
  for (const n of [0, 20, 40, 60]) {
    let dc = 0, dm = 0, dp = 0; const sc: number[][] = [[], [], []]; const lab: number[] = [];
    for (const it of s.emerging) {
      const cold = m.align([it.r])[0]!;
      const sorted = [...it.interactions].sort((a, b) => a.ts - b.ts);
      const inter = sorted.slice(0, n).map((x) => ({ ctx: s.users[x.ctx]!, label: x.label }));
      const em = m.refine(cold, inter), ep = refinePlain(cold, inter, { steps: Number(art.hyper.steps) });
      dc += dist(cold, it.base); dm += dist(em, it.base); dp += dist(ep, it.base);
      for (const x of sorted.slice(60)) { lab.push(x.label); [cold, em, ep].forEach((e, j) => sc[j]!.push(dot(e, s.users[x.ctx]!))); }
    }
    const k = s.emerging.length;
    console.log(n, 'dist cold/meta/plain', (dc / k).toFixed(3), (dm / k).toFixed(3), (dp / k).toFixed(3), ' AUC', sc.map((x) => auc(x, lab).toFixed(4)).join(' '));
  }
  const w = (k: string) => Array.from(new Float32Array(new Uint8Array(Buffer.from(art.weights[k]!.data, 'base64')).buffer)).slice(0, 4).map((x) => +x.toFixed(3));
  console.log('gate', w('meta/gate'), 'logLr', w('meta/logLr'), 'logPull', w('meta/logPull'));
  if (process.env.ONLY_FIRST) break;
}
