// emerflow spaces create|show
import { intFlag, parse } from './args.js';
import { EXIT, UsageError } from './exit.js';
import { pretty, type Io } from './io.js';

const USAGE = 'emerflow spaces create <id> --dim N [--item-type T] | emerflow spaces show <id>';

export async function spacesCommand(io: Io, argv: string[]): Promise<number> {
  const [sub, ...rest] = argv;
  if (sub === 'create') {
    const { values, positionals } = parse(USAGE, rest, { dim: { type: 'string' }, 'item-type': { type: 'string' } }, { min: 1 });
    const dim = intFlag('dim', values.dim, 4096);
    if (dim === undefined || dim < 1)
      throw new UsageError(`--dim is required: the dimension of the recommender's embeddings; usage: ${USAGE}`);
    const [id] = positionals as [string];
    io.out(pretty(await io.client().createSpace({ id, dim, itemType: values['item-type'] ?? 'item' })));
    return EXIT.ok;
  }
  if (sub === 'show') {
    const { positionals } = parse(USAGE, rest, {}, { min: 1 });
    io.out(pretty(await io.client().getSpace(positionals[0] as string)));
    return EXIT.ok;
  }
  throw new UsageError(`spaces ${sub ?? ''}: create or show; usage: ${USAGE}`);
}
