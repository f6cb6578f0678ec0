// `npm run eval -- --dataset ml-100k|<dir> --data ../shared/data --seeds 1,2,3 --out <dir>` (datasets: docs/datasets.md)
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { runEval, type EvalOptions } from './run.js';
import { ALL_METHODS, type MethodName } from './methods.js';
import { writeReport } from './write-report.js';
import { optionsOrExit } from './cli-options.js';
import { DatasetError, DatasetPathError } from './dataset/errors.js';

const USAGE = `usage: npm run eval -- [--dataset ml-100k|<dir>] [--data ../shared/data] [--positive 4] [--seeds 1,2,3] [--out eval-out]
  [--backbone dot|deepfm] [--text llm|imdb|none] [--methods ${ALL_METHODS.join(',')}]
  [--hot-threshold 200] [--k 20] [--max-emerging N] [--warm-lr per-method] [--warm-batch 128] [--meta-epochs 4]
  [--backbone-epochs N] [--retrain] [--quiet]
  --dataset: the built-in ml-100k, or a directory with items.jsonl, interactions.csv and users.csv (docs/datasets.md);
  for a directory, --text llm and imdb both mean its items' own text, none drops it
  --positive: a rating ≥ this is positive (datasets with a 0/1 label column ignore it)
  --retrain: the recommender retrains (a second backbone, seed + 1000); scores emerflow, emerflow-fastpath and
  emerflow-migrated in the second space (src/eval/retrain.ts), instead of --methods`;

function parseCli(argv: string[]): EvalOptions & { out: string } {
  const { values } = parseArgs({
    args: argv,
    options: {
      dataset: { type: 'string', default: 'ml-100k' },
      data: { type: 'string', default: '../shared/data' },
      positive: { type: 'string', default: '4' },
      seeds: { type: 'string', default: '1,2,3' },
      out: { type: 'string', default: 'eval-out' },
      backbone: { type: 'string', default: 'dot' },
      text: { type: 'string', default: 'llm' },
      methods: { type: 'string' },
      'hot-threshold': { type: 'string', default: '200' },
      k: { type: 'string', default: '20' },
      'max-emerging': { type: 'string' },
      'warm-lr': { type: 'string' },
      'warm-batch': { type: 'string', default: '128' },
      'meta-epochs': { type: 'string', default: '4' },
      'backbone-epochs': { type: 'string' },
      retrain: { type: 'boolean', default: false },
      quiet: { type: 'boolean', default: false },
      help: { type: 'boolean', default: false },
    },
    strict: true,
  });
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    process.exit(0);
  }
  if (values.backbone !== 'dot' && values.backbone !== 'deepfm') throw new Error('--backbone must be dot or deepfm');
  if (!['llm', 'imdb', 'none'].includes(values.text)) throw new Error('--text must be llm, imdb or none');
  if (values.retrain && values.methods !== undefined) throw new Error('--retrain runs its own three methods; leave out --methods');
  const methods = (values.methods ?? ALL_METHODS.join(','))
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  for (const m of methods)
    if (!(ALL_METHODS as readonly string[]).includes(m)) throw new Error(`unknown method ${m}; known: ${ALL_METHODS.join(', ')}`);
  const num = (s: string | undefined, name: string): number => {
    const n = Number(s);
    if (!Number.isFinite(n)) throw new Error(`--${name} must be a number`);
    return n;
  };
  const seeds = values.seeds.split(',').map((s) => num(s, 'seeds'));
  return {
    dataset: values.dataset,
    dataDir: resolve(values.data),
    positive: num(values.positive, 'positive'),
    seeds,
    out: resolve(values.out),
    backbone: values.backbone,
    text: values.text as EvalOptions['text'],
    methods: methods as MethodName[],
    hotThreshold: num(values['hot-threshold'], 'hot-threshold'),
    k: num(values.k, 'k'),
    ...(values['max-emerging'] !== undefined ? { maxEmerging: num(values['max-emerging'], 'max-emerging') } : {}),
    ...(values['backbone-epochs'] !== undefined ? { backboneOpts: { epochs: num(values['backbone-epochs'], 'backbone-epochs') } } : {}),
    ...(values['warm-lr'] !== undefined ? { warmLr: num(values['warm-lr'], 'warm-lr') } : {}),
    warmBatch: num(values['warm-batch'], 'warm-batch'),
    metaEpochs: num(values['meta-epochs'], 'meta-epochs'),
    quiet: values.quiet,
    retrain: values.retrain,
  };
}

async function main(): Promise<void> {
  const opts = optionsOrExit(parseCli, USAGE);
  const res = await runEval(opts);
  writeReport(opts.out, res, `npm run eval -- ${process.argv.slice(2).join(' ')}`);
}

if (import.meta.url === `file://${process.argv[1]}` || process.argv[1]?.endsWith('cli.ts')) {
  // print the message, not the wasm glue's minified source that Node would dump with the stack
  await main().catch((e: unknown) => {
    // a bad or missing dataset file: the message names it (and the line), the stack is noise
    const shown =
      e instanceof DatasetError || e instanceof DatasetPathError
        ? e.message
        : e instanceof Error
          ? e.stack?.split('\n').slice(0, 6).join('\n')
          : String(e);
    process.stderr.write(`eval failed: ${shown}\n`);
    process.exit(1);
  });
}
