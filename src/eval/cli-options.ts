// What the command lines of npm run eval and npm run replay share: a bad option prints its
// message and the usage, and exits 2 (a usage error, as scripts expect).
export function optionsOrExit<T>(parse: (argv: string[]) => T, usage: string, argv = process.argv.slice(2)): T {
  try {
    return parse(argv);
  } catch (e) {
    process.stderr.write(`${(e as Error).message}\n${usage}\n`);
    process.exit(2);
  }
}
