// The replay's results.json and results.md: the eval's result rows (method emerflow-service),
// the time each stage took to become visible, the live quality monitor's buckets, and with
// --compare the offline eval's emerflow AUC for the same seeds beside them.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { EvalResults, ResultRow } from '../eval/run.js';
import type { ReplayResults } from './replay.js';

const f4 = (x: number | null | undefined) => (x === null || x === undefined || Number.isNaN(x) ? '—' : x.toFixed(4));

export interface Comparison {
  stage: string;
  eval: number;
  service: number;
  delta: number;
}

/** The eval's emerflow AUC per stage over the replay's seeds, beside the service's. */
export function compare(res: ReplayResults, evalRes: Pick<EvalResults, 'results'>, method = 'emerflow'): Comparison[] {
  return res.results.map((r) => {
    const e: ResultRow | undefined = evalRes.results.find((x) => x.method === method && x.stage === r.stage);
    if (!e) throw new Error(`the eval results have no ${method} row for ${r.stage}`);
    const seeds = new Set(r.perSeed.map((p) => p.seed));
    const per = e.perSeed.filter((p) => seeds.has(p.seed));
    if (per.length !== seeds.size) throw new Error(`the eval results lack some of the seeds ${[...seeds].join(', ')} for ${r.stage}`);
    const ev = per.reduce((a, p) => a + p.auc, 0) / per.length;
    return { stage: r.stage, eval: ev, service: r.auc, delta: r.auc - ev };
  });
}

export function renderReplayMarkdown(res: ReplayResults, command: string, cmp: Comparison[] | null): string {
  const seeds = res.protocol.seeds.join(', ');
  const L: string[] = [
    `# Replay through the API: ${res.dataset}, backbone ${res.backbone}, text ${res.text}`,
    '',
    `\`${command}\` — seeds ${seeds}; ${res.counts.established} established, ${res.counts.emerging} emerging items ` +
      `(${res.counts.catalogue} in the catalogue), ${res.counts.users} users; service: ${res.service}; ${res.seconds} s.`,
    '',
    '| stage | AUC | F1 | per seed | visible after (s, mean) |',
    '|---|---|---|---|---|',
  ];
  for (const r of res.results) {
    const t = res.stages.filter((s) => s.stage === r.stage);
    const vis = t.length ? (t.reduce((a, s) => a + s.visibleSeconds, 0) / t.length).toFixed(2) : '—';
    L.push(`| ${r.stage} | ${f4(r.auc)} ± ${f4(r.aucStd)} | ${f4(r.f1)} | ${r.perSeed.map((p) => f4(p.auc)).join(' / ')} | ${vis} |`);
  }
  if (cmp) {
    L.push('', '## Against the offline eval (`emerflow`, same seeds)', '', '| stage | eval | service | Δ |', '|---|---|---|---|');
    for (const c of cmp) L.push(`| ${c.stage} | ${f4(c.eval)} | ${f4(c.service)} | ${c.delta >= 0 ? '+' : ''}${c.delta.toFixed(4)} |`);
  }
  L.push(
    '',
    '## Stage timings',
    '',
    'Posting: the stage streamed in time order; visible: from the last event accepted to every emerging item served refined on all of it.',
    '',
    '| seed | stage | events | posting (s) | visible after (s) |',
    '|---|---|---|---|---|',
  );
  for (const s of res.stages)
    L.push(`| ${s.seed} | ${s.stage} | ${s.events} | ${s.postSeconds.toFixed(2)} | ${s.visibleSeconds.toFixed(2)} |`);
  L.push(
    '',
    '## Live quality monitor (GET /v1/spaces/:space/quality)',
    '',
    'Each event scored with the embedding served when it arrived; cold AUC: the same events scored with the cold embedding.',
    '',
    '| seed | bucket | events | AUC | cold AUC | log loss |',
    '|---|---|---|---|---|---|',
  );
  for (const q of res.quality)
    for (const b of q.buckets) L.push(`| ${q.seed} | ${b.bucket} | ${b.events} | ${f4(b.auc)} | ${f4(b.coldAuc)} | ${f4(b.logLoss)} |`);
  for (const t of res.training)
    L.push(`${t === res.training[0] ? '\n' : ''}Seed ${t.seed}: trained in ${t.seconds.toFixed(1)} s (space ${t.space}).`);
  return `${L.join('\n')}\n`;
}

export function writeReplayReport(out: string, res: ReplayResults, command: string, compareWith?: string): Comparison[] | null {
  mkdirSync(out, { recursive: true });
  const cmp = compareWith ? compare(res, JSON.parse(readFileSync(compareWith, 'utf8')) as EvalResults) : null;
  const md = renderReplayMarkdown(res, command, cmp);
  writeFileSync(join(out, 'results.json'), `${JSON.stringify({ ...res, ...(cmp ? { comparison: cmp } : {}) }, null, 2)}\n`);
  writeFileSync(join(out, 'results.md'), md);
  process.stdout.write(`${md}\nwrote ${out}/results.json, results.md\n`);
  return cmp;
}
