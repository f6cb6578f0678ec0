// results.md: one table (AUC and F1 per stage, mean ± std over seeds), best AUC per stage in bold.
import type { EvalResults } from './run.js';
import { STAGES } from './run.js';

const f4 = (x: number): string => (Number.isFinite(x) ? x.toFixed(4) : 'n/a');

export function renderMarkdown(r: EvalResults, command?: string): string {
  const methods = [...new Set(r.results.map((x) => x.method))];
  const best = new Map<string, number>();
  for (const s of STAGES) best.set(s, Math.max(...r.results.filter((x) => x.stage === s).map((x) => x.auc)));
  const cell = (m: string, s: string): string => {
    const x = r.results.find((y) => y.method === m && y.stage === s);
    if (!x) return '–';
    const a = `${f4(x.auc)} ± ${f4(x.aucStd)}`;
    return `${x.auc === best.get(s) ? `**${a}**` : a} / ${f4(x.f1)}`;
  };
  const lines = [
    `### ${r.dataset}, backbone \`${r.backbone}\`, text \`${r.text}\` — AUC ± std / F1 on test, seeds ${r.protocol.seeds.join(', ')}`,
    '',
    `| method | ${STAGES.join(' | ')} |`,
    `|---|${STAGES.map(() => '---').join('|')}|`,
    ...methods.map((m) => `| ${m} | ${STAGES.map((s) => cell(m, s)).join(' | ')} |`),
    `| oracle (full retrain) | ${f4(r.oracle.auc)} ± ${f4(r.oracle.aucStd)} / ${f4(r.oracle.f1)} | | | |`,
    '',
    `Established ${r.counts.established} items (${r.counts.trainBase} ratings), emerging ${r.counts.emerging} ` +
      `(${r.counts.warm.join(' / ')} per warm set, ${r.counts.test} test), ` +
      `${r.counts.emergingWithText} emerging with \`${r.text}\` text; ` +
      `hot threshold ${r.protocol.hotThreshold}, k ${r.protocol.k}; backend ${r.backend}; ${r.seconds} s.`,
  ];
  if (r.retrain) lines.push('', ...retrainLines(r));
  for (const [m, e] of Object.entries(r.errors ?? {})) lines.push('', `**${m} failed** (${e}).`);
  if (command) lines.push('', `Reproduce: \`${command}\``);
  return `${lines.join('\n')}\n`;
}

const signed = (x: number): string => (Number.isFinite(x) ? `${x >= 0 ? '+' : '−'}${Math.abs(x).toFixed(4)}` : 'n/a');

/** --retrain: AUC gap to native EmerFlow per stage (mean of the per-seed gaps, and the worst seed), the other maps, the maps' fit. */
function retrainLines(r: EvalResults): string[] {
  const rt = r.retrain!;
  const row = (rows: EvalResults['results'], m: string, s: string) => rows.find((x) => x.method === m && x.stage === s);
  const gap = (rows: EvalResults['results'], m: string, s: string): string => {
    const a = row(rows, m, s);
    const n = row(r.results, 'emerflow', s);
    if (!a || !n) return '–';
    const d = a.perSeed.map((x) => x.auc - (n.perSeed.find((y) => y.seed === x.seed)?.auc ?? NaN));
    const mean = d.reduce((p, q) => p + q, 0) / d.length;
    const worst = d.reduce((p, q) => (Math.abs(q) > Math.abs(p) ? q : p), 0);
    return `${signed(mean)} (worst seed ${signed(worst)})`;
  };
  const variants = [...new Set(rt.mapVariants.map((x) => x.method))];
  const fe = (xs: number[]) => `${(xs.reduce((p, q) => p + q, 0) / xs.length).toFixed(4)}`;
  return [
    `#### Retrain: AUC minus native \`emerflow\` (both in the second space, seed + ${rt.seedOffset})`,
    '',
    `| method | ${STAGES.join(' | ')} |`,
    `|---|${STAGES.map(() => '---').join('|')}|`,
    ...['emerflow-migrated', 'emerflow-fastpath'].map((m) => `| ${m} | ${STAGES.map((s) => gap(r.results, m, s)).join(' | ')} |`),
    ...variants.map(
      (m) => `| ${m} | ${STAGES.map((s) => `${f4(row(rt.mapVariants, m, s)?.auc ?? NaN)}, ${gap(rt.mapVariants, m, s)}`).join(' | ')} |`,
    ),
    '',
    `Fast-path map (space 1 → space 2, fitted on the ${rt.maps[0]?.pairs ?? 0} established items): ${rt.maps[0]?.kind ?? '–'}, ` +
      `fitError (unexplained share of the new vectors' spread) ${fe(rt.maps.map((m) => m.fitError))} mean over seeds, ` +
      `scale ${rt.maps.map((m) => (m.scale ?? NaN).toFixed(3)).join(' / ')}; ` +
      Object.keys(rt.maps[0]?.variants ?? {})
        .map((v) => `${v} ${fe(rt.maps.map((m) => m.variants[v]?.fitError ?? NaN))}`)
        .join(', ') +
      '.',
  ];
}
