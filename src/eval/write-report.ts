// Writes an evaluation's results.json, results.md and auc.svg, and prints the table.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { renderMarkdown } from './report-md.js';
import { renderSvg } from './report-svg.js';
import type { EvalResults } from './run.js';

export function writeReport(out: string, res: EvalResults, command: string): void {
  mkdirSync(out, { recursive: true });
  const md = renderMarkdown(res, command);
  writeFileSync(join(out, 'results.json'), `${JSON.stringify(res, null, 2)}\n`);
  writeFileSync(join(out, 'results.md'), md);
  writeFileSync(join(out, 'auc.svg'), renderSvg(res));
  process.stdout.write(`${md}\nwrote ${out}/results.json, results.md, auc.svg (${res.seconds}s of evaluation)\n`);
}
