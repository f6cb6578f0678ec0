// `npm run eval:merge -- --out <dir> <run-dir> <run-dir> …`: one report from per-seed runs (merge.ts).
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { mergeResults } from './merge.js';
import { writeReport } from './write-report.js';
import type { EvalResults } from './run.js';

const USAGE =
  'usage: npm run eval:merge -- --out <dir> <run-dir> <run-dir> …  ' +
  '(each run-dir holds a results.json of the same evaluation, other seeds)';

function main(): void {
  const { values, positionals } = parseArgs({
    args: process.argv.slice(2),
    options: { out: { type: 'string' } },
    allowPositionals: true,
    strict: true,
  });
  if (!values.out || positionals.length === 0) {
    process.stderr.write(`${USAGE}\n`);
    process.exit(2);
  }
  const parts = positionals.map((d) => JSON.parse(readFileSync(join(resolve(d), 'results.json'), 'utf8')) as EvalResults);
  writeReport(resolve(values.out), mergeResults(parts), `npm run eval:merge -- ${process.argv.slice(2).join(' ')}`);
}

try {
  main();
} catch (e) {
  process.stderr.write(`eval:merge failed: ${(e as Error).message}\n${USAGE}\n`);
  process.exit(1);
}
