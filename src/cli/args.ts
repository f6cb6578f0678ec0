// Command-line parsing for one command: node's parseArgs (strict: an unknown flag is a usage
// error), plus the checks every command needs (how many positionals, integer flags).
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { UsageError } from './exit.js';

type Options = NonNullable<ParseArgsConfig['options']>;
/** The flags' values, spelled out (parseArgs' own result type cannot be named in a declaration file). */
export type Values<O extends Options> = { [K in keyof O]?: O[K]['type'] extends 'boolean' ? boolean : string };

export function parse<O extends Options>(
  usage: string,
  argv: string[],
  options: O,
  positionals: { min: number; max?: number },
): { values: Values<O>; positionals: string[] } {
  let parsed;
  try {
    parsed = parseArgs({ args: argv, options, allowPositionals: true, strict: true });
  } catch (err) {
    throw new UsageError(`${(err as Error).message}; usage: ${usage}`);
  }
  const n = parsed.positionals.length;
  if (n < positionals.min || n > (positionals.max ?? positionals.min))
    throw new UsageError(`${n < positionals.min ? 'missing arguments' : 'too many arguments'}; usage: ${usage}`);
  return { values: parsed.values as Values<O>, positionals: parsed.positionals };
}

/** A non-negative integer flag's value (undefined when absent). */
export function intFlag(name: string, v: string | boolean | undefined, max = 2 ** 31 - 1): number | undefined {
  if (v === undefined) return undefined;
  const n = typeof v === 'string' && /^[0-9]+$/.test(v) ? Number(v) : NaN;
  if (!Number.isSafeInteger(n) || n > max) throw new UsageError(`--${name} must be an integer from 0 to ${max}, got ${JSON.stringify(v)}`);
  return n;
}
