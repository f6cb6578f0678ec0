// The emerflow command line as a function: argv and an Io in, the exit code out (the bin,
// main.ts, gives it the process's; a test may give it its own streams). Exit codes: exit.ts.
import { failure, EXIT, UsageError } from './exit.js';
import type { Io } from './io.js';

export const HELP = `emerflow: embeddings for emerging items (the EmerFlow HTTP API)

usage: emerflow <command> [arguments] [--stats]

  spaces create <id> --dim N [--item-type T]    create a space (scorer dot); prints it
  spaces show <id>                              the space: versions, model, counts (JSON)
  import users|items|events <space> <file|->    JSON lines or CSV (by extension, or --format jsonl|csv),
         [--format jsonl|csv] [--version v]     streamed in batches; a summary of accepted, unchanged,
                                                duplicates and rejected rows (with line numbers) at the end
  train <space> [--seed N] [--version v] [--wait]
                                                start training; --wait follows its phases to the end
  lookup <space> <ids…> [--float32] [--version v]
                                                newest embeddings (JSON; --float32: the binary answer, decoded)
  keys create --scopes read,write,… [--name N] [--spaces a,b]
  keys list
  keys revoke <id>
  status <space> [--since ISO] [--version v]    items per state, versions, live quality buckets

environment:
  EMERFLOW_URL   the service (default http://localhost:8080)
  EMERFLOW_KEY   an API key (the admin key for spaces, train and keys)

progress goes to stderr: a bar on a terminal, a line every 5 s or 10% otherwise.
--stats prints the process's peak memory (maxRSS) to stderr at the end.

exit codes:
  0  ok
  1  failed: the service answered with an error, or could not be reached (a failed training, with --wait)
  2  usage error: unknown command or flag, missing argument, unreadable file, EMERFLOW_KEY unset
  3  import: some rows were rejected (the others were sent)
  4  not found: the space, item, job or key does not exist
`;

type Command = (io: Io, argv: string[]) => Promise<number>;

// Loaded when named: a process starts with only the module of the command it runs (import
// alone needs typebox and the API's schemas), so --help, a usage error or a lookup start fast.
const COMMANDS: Record<string, () => Promise<Command>> = {
  spaces: async () => (await import('./spaces.js')).spacesCommand,
  import: async () => (await import('./import.js')).importCommand,
  train: async () => (await import('./train.js')).trainCommand,
  lookup: async () => (await import('./lookup.js')).lookupCommand,
  keys: async () => (await import('./keys.js')).keysCommand,
  status: async () => (await import('./status.js')).statusCommand,
};

export async function main(argv: string[], io: Io): Promise<number> {
  if (argv.length === 0 || argv.includes('--help') || argv.includes('-h') || argv[0] === 'help') {
    io.out(HELP);
    return argv.length === 0 ? EXIT.usage : EXIT.ok;
  }
  const [name, ...rest] = argv;
  const load = Object.hasOwn(COMMANDS, name ?? '') ? COMMANDS[name ?? ''] : undefined;
  try {
    if (!load) throw new UsageError(`unknown command ${JSON.stringify(name)}`);
    const command = await load();
    return await command(io, rest);
  } catch (err) {
    const f = failure(err);
    io.err.write(`emerflow: ${f.message}\n`);
    return f.code;
  }
}
