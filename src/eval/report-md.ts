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
  for (const [m, e] of Object.entries(r.errors ?? {})) lines.push('', `**${m} failed** (${e}).`);
  if (command) lines.push('', `Reproduce: \`${command}\``);
  return `${lines.join('\n')}\n`;
}
