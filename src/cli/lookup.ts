// emerflow lookup <space> <ids…> [--float32] [--version v]: the lookup route's JSON answer,
// or with --float32 the binary answer decoded (a null vector for an id without one).
import { parse } from './args.js';
import { EXIT } from './exit.js';
import { pretty, type Io } from './io.js';

const USAGE = 'emerflow lookup <space> <ids…> [--float32] [--version v]';

export async function lookupCommand(io: Io, argv: string[]): Promise<number> {
  const { values, positionals } = parse(
    USAGE,
    argv,
    { float32: { type: 'boolean' }, version: { type: 'string' } },
    { min: 2, max: Infinity },
  );
  const [space, ...ids] = positionals as [string, ...string[]];
  const client = io.client();
  if (!values.float32) {
    io.out(pretty(await client.lookup(space, ids, { version: values.version })));
    return EXIT.ok;
  }
  const a = await client.lookup(space, ids, { format: 'float32', version: values.version });
  const missing = new Set(a.missing);
  const rows = a.ids.map((id, i) => ({ id, vector: missing.has(id) ? null : Array.from(a.rows[i] ?? []) }));
  io.out(pretty({ spaceVersion: a.spaceVersion, dim: a.dim, rows }));
  return EXIT.ok;
}
