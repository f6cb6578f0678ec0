// A small command-line parser for the benchmarks: `--name value` or `--name=value`,
// every option declared with a default; unknown options and bad numbers stop the bench.

export interface OptionSpec {
  default?: string;
  help: string;
}

export function parseArgs<K extends string>(
  usage: string,
  spec: Record<K, OptionSpec>,
  argv = process.argv.slice(2),
): Record<K, string | undefined> {
  const out = {} as Record<K, string | undefined>;
  for (const k of Object.keys(spec) as K[]) out[k] = spec[k].default;
  const help = () => {
    const lines = [usage, '', 'options:'];
    for (const k of Object.keys(spec) as K[])
      lines.push(`  --${k.padEnd(20)} ${spec[k].help}${spec[k].default !== undefined ? ` (default ${spec[k].default})` : ''}`);
    return lines.join('\n');
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--') continue;
    if (a === '--help' || a === '-h') {
      console.log(help());
      process.exit(0);
    }
    if (!a.startsWith('--')) throw new Error(`unexpected argument "${a}"\n\n${help()}`);
    const eq = a.indexOf('=');
    const name = (eq >= 0 ? a.slice(2, eq) : a.slice(2)) as K;
    if (!(name in spec)) throw new Error(`unknown option --${name}\n\n${help()}`);
    let value: string | undefined;
    if (eq >= 0) value = a.slice(eq + 1);
    else {
      value = argv[i + 1];
      if (value === undefined || value.startsWith('--')) throw new Error(`--${name} needs a value`);
      i++;
    }
    out[name] = value;
  }
  return out;
}

export function num(name: string, raw: string | undefined, opts: { min?: number; max?: number; integer?: boolean } = {}): number {
  const n = Number(raw);
  if (raw === undefined || raw === '' || !Number.isFinite(n)) throw new Error(`--${name} must be a number, got "${raw}"`);
  if (opts.integer && !Number.isInteger(n)) throw new Error(`--${name} must be an integer, got "${raw}"`);
  if (opts.min !== undefined && n < opts.min) throw new Error(`--${name} must be at least ${opts.min}, got ${n}`);
  if (opts.max !== undefined && n > opts.max) throw new Error(`--${name} must be at most ${opts.max}, got ${n}`);
  return n;
}

export function numList(name: string, raw: string | undefined, opts: { min?: number; max?: number } = {}): number[] {
  const parts = (raw ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  if (parts.length === 0) throw new Error(`--${name} must be a comma-separated list of numbers`);
  return parts.map((p) => num(name, p, opts));
}

export function url(name: string, raw: string | undefined): string | undefined {
  if (raw === undefined || raw === '') return undefined;
  try {
    new URL(raw);
  } catch {
    throw new Error(`--${name} must be a URL, got "${raw}"`);
  }
  return raw.replace(/\/+$/, '');
}
