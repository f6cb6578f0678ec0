// emerflow keys create|list|revoke (an admin key not limited to some spaces)
import type { Scope } from '../api/contract.js';
import { parse } from './args.js';
import { EXIT, UsageError } from './exit.js';
import { pretty, type Io } from './io.js';

const USAGE =
  'emerflow keys create --scopes read,write,admin,metrics [--name N] [--spaces a,b] | emerflow keys list | emerflow keys revoke <id>';
const list = (v: string | undefined) =>
  v
    ?.split(',')
    .map((s) => s.trim())
    .filter(Boolean);

export async function keysCommand(io: Io, argv: string[]): Promise<number> {
  const [sub, ...rest] = argv;
  if (sub === 'create') {
    const { values } = parse(USAGE, rest, { scopes: { type: 'string' }, name: { type: 'string' }, spaces: { type: 'string' } }, { min: 0 });
    const scopes = list(values.scopes);
    if (!scopes?.length) throw new UsageError(`--scopes is required, e.g. --scopes read,write; usage: ${USAGE}`);
    const spaces = list(values.spaces);
    const key = { scopes: scopes as Scope[], ...(values.name ? { name: values.name } : {}), ...(spaces ? { spaces } : {}) };
    io.out(pretty(await io.client().keys.create(key)));
    return EXIT.ok;
  }
  if (sub === 'list') {
    parse(USAGE, rest, {}, { min: 0 });
    io.out(pretty(await io.client().keys.list()));
    return EXIT.ok;
  }
  if (sub === 'revoke') {
    const { positionals } = parse(USAGE, rest, {}, { min: 1 });
    await io.client().keys.revoke(positionals[0] as string);
    io.out(`revoked ${positionals[0]}`);
    return EXIT.ok;
  }
  throw new UsageError(`keys ${sub ?? ''}: create, list or revoke; usage: ${USAGE}`);
}
