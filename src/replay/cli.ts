// `npm run replay -- --dataset ml-100k|<dir> --data ../shared/data --seed N --out <dir> [--url URL --key KEY]
//   [--compare <eval results.json>]`: the warm-up protocol played through the service's API (replay.ts).
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { runReplay, type ReplayOptions } from './replay.js';
import { writeReplayReport } from './report.js';
import { optionsOrExit } from '../eval/cli-options.js';

const USAGE = `usage: npm run replay -- [--dataset ml-100k|<dir>] [--data ../shared/data] [--seed 1[,2,3]] [--out replay-out]
  [--url URL --key KEY] [--compare <eval results.json>] [--text llm|imdb|none] [--positive 4]
  [--hot-threshold 200] [--k 20] [--max-emerging N] [--event-batch 500]
  Without --url it starts the service itself (embedded Postgres and Redis), with the dataset's item text as its LLM.
  --compare prints the offline eval's emerflow AUC for the same seeds beside the service's.`;

function parseCli(argv: string[]): ReplayOptions & { out: string; compare?: string } {
  const { values } = parseArgs({
    args: argv,
    options: {
      dataset: { type: 'string', default: 'ml-100k' },
      data: { type: 'string', default: '../shared/data' },
      seed: { type: 'string', default: '1' },
      out: { type: 'string', default: 'replay-out' },
      url: { type: 'string' },
      key: { type: 'string' },
      compare: { type: 'string' },
      text: { type: 'string', default: 'llm' },
      positive: { type: 'string', default: '4' },
      'hot-threshold': { type: 'string', default: '200' },
      k: { type: 'string', default: '20' },
      'max-emerging': { type: 'string' },
      'event-batch': { type: 'string', default: '500' },
      help: { type: 'boolean', default: false },
    },
    strict: true,
  });
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    process.exit(0);
  }
  const num = (s: string | undefined, name: string, min = 0): number => {
    const n = Number(s);
    if (!Number.isFinite(n) || n < min) throw new Error(`--${name} must be a number ≥ ${min}, got "${s}"`);
    return n;
  };
  if (!['llm', 'imdb', 'none'].includes(values.text)) throw new Error('--text must be llm, imdb or none');
  if (values.url && !values.key) throw new Error('--url needs --key (an API key with the admin scope)');
  return {
    dataset: values.dataset,
    dataDir: resolve(values.data),
    text: values.text as ReplayOptions['text'],
    positive: num(values.positive, 'positive'),
    seeds: values.seed.split(',').map((s) => num(s, 'seed')),
    hotThreshold: num(values['hot-threshold'], 'hot-threshold', 1),
    k: num(values.k, 'k', 1),
    ...(values['max-emerging'] !== undefined ? { maxEmerging: num(values['max-emerging'], 'max-emerging', 1) } : {}),
    eventBatch: num(values['event-batch'], 'event-batch', 1),
    ...(values.url ? { url: values.url, key: values.key } : {}),
    out: resolve(values.out),
    ...(values.compare ? { compare: resolve(values.compare) } : {}),
  };
}

async function main(): Promise<void> {
  const opts = optionsOrExit(parseCli, USAGE);
  const res = await runReplay(opts);
  writeReplayReport(opts.out, res, `npm run replay -- ${process.argv.slice(2).join(' ')}`, opts.compare);
}

await main().catch((e: unknown) => {
  process.stderr.write(`replay failed: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exit(1);
});
