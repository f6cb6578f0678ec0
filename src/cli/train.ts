// emerflow train <space> [--seed N] [--version v] [--wait]: with --wait, the job's phases as
// a progress bar, its final record on stdout, and exit 1 when it failed.
import { intFlag, parse } from './args.js';
import { EXIT } from './exit.js';
import { pretty, type Io } from './io.js';
import { progress } from './progress.js';

const USAGE = 'emerflow train <space> [--seed N] [--version v] [--wait]';

export async function trainCommand(io: Io, argv: string[]): Promise<number> {
  const { values, positionals } = parse(
    USAGE,
    argv,
    { seed: { type: 'string' }, version: { type: 'string' }, wait: { type: 'boolean' } },
    { min: 1 },
  );
  const space = positionals[0] as string;
  const opts = { seed: intFlag('seed', values.seed), version: values.version };
  const client = io.client();
  if (!values.wait) {
    io.out(pretty(await client.train(space, opts)));
    return EXIT.ok;
  }
  const bar = progress(io, 'train');
  let shown = { fraction: 0, text: 'queued', phase: 'queued' };
  const job = await client.train(space, {
    ...opts,
    wait: true,
    onProgress: (p) => {
      shown = { fraction: p.fraction, text: p.phase, phase: p.phase };
      bar.update(shown);
    },
  });
  bar.done(job.state === 'completed' ? { fraction: 1, text: 'completed' } : { ...shown, text: `failed: ${job.error ?? ''}` });
  io.out(pretty(job));
  return job.state === 'completed' ? EXIT.ok : EXIT.failed;
}
