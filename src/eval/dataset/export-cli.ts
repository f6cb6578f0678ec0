// `npm run dataset:export -- ml-100k --out <dir> [--data ../shared/data] [--text llm|imdb|none] [--positive 4]`
// Writes a dataset (the built-in ml-100k, or a directory, re-written) in the generic layout. The
// output holds the source data: keep it outside the repository (MovieLens forbids redistribution).
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { loadDataset } from './load.js';
import { writeDataset } from './export.js';
import type { TextMode } from '../text.js';

const USAGE = 'usage: npm run dataset:export -- <ml-100k|dir> --out <dir> [--data ../shared/data] [--text llm|imdb|none] [--positive 4]';

function main(argv: string[]): void {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      out: { type: 'string' },
      data: { type: 'string', default: '../shared/data' },
      text: { type: 'string', default: 'llm' },
      positive: { type: 'string', default: '4' },
      help: { type: 'boolean', default: false },
    },
    strict: true,
  });
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  const [spec, ...rest] = positionals;
  if (spec === undefined || rest.length > 0) throw new Error('name one dataset: ml-100k or a directory');
  if (values.out === undefined) throw new Error('--out <dir> is required');
  if (!['llm', 'imdb', 'none'].includes(values.text)) throw new Error('--text must be llm, imdb or none');
  const positive = Number(values.positive);
  if (!Number.isFinite(positive)) throw new Error('--positive must be a number');
  const ds = loadDataset(spec, { dataDir: resolve(values.data), text: values.text as TextMode, positive });
  const out = resolve(values.out);
  writeDataset(ds, out);
  const withText = ds.items.filter((it) => it.text).length;
  const counts = `${ds.items.length} items (${withText} with text), ${ds.users.length} users, ${ds.interactions.length} interactions`;
  process.stdout.write(`${ds.name} → ${out}: ${counts}\n`);
}

try {
  main(process.argv.slice(2));
} catch (e) {
  process.stderr.write(`${(e as Error).message}\n${USAGE}\n`);
  process.exit(1);
}
