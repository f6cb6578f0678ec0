// Prometheus text exposition, parsed just enough for the benches: which metrics are
// declared (# TYPE) and their samples with labels. A metric that is declared but has no
// sample for a label set reads as 0; one that is not declared at all reads as undefined,
// so a renamed or missing metric prints "n/a" instead of a wrong zero.

export interface PromSample {
  name: string;
  labels: Record<string, string>;
  value: number;
}
export interface Prom {
  declared: Set<string>;
  samples: PromSample[];
}

const LINE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})?\s+(\S+)/;
const LABEL = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g;

export function parseProm(text: string): Prom {
  const declared = new Set<string>();
  const samples: PromSample[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (!line) continue;
    if (line.startsWith('#')) {
      const m = /^# TYPE (\S+)/.exec(line);
      if (m) declared.add(m[1]!);
      continue;
    }
    const m = LINE.exec(line);
    if (!m) continue;
    const labels: Record<string, string> = {};
    if (m[3]) for (const l of m[3].matchAll(LABEL)) labels[l[1]!] = l[2]!.replace(/\\(.)/g, (_s, c: string) => (c === 'n' ? '\n' : c));
    const v = m[4] === '+Inf' ? Infinity : m[4] === '-Inf' ? -Infinity : Number(m[4]);
    samples.push({ name: m[1]!, labels, value: v });
  }
  return { declared, samples };
}

/** Sum of the samples of `name` whose labels include `match`; undefined when the metric is absent. */
export function promValue(p: Prom | null, name: string, match: Record<string, string> = {}): number | undefined {
  if (!p) return undefined;
  let found = p.declared.has(name);
  let sum = 0;
  for (const s of p.samples) {
    if (s.name !== name) continue;
    found = true;
    if (Object.entries(match).every(([k, v]) => s.labels[k] === v)) sum += s.value;
  }
  return found ? sum : undefined;
}

/** The first of several candidate names that is present, with its value. */
export function promFirst(
  p: Prom | null,
  names: readonly string[],
  match: Record<string, string> = {},
): { name: string; value: number } | undefined {
  for (const n of names) {
    const v = promValue(p, n, match);
    if (v !== undefined) return { name: n, value: v };
  }
  return undefined;
}

/** Difference of a counter between two scrapes; undefined when either scrape lacks it. */
export function promDelta(before: Prom | null, after: Prom | null, name: string, match: Record<string, string> = {}): number | undefined {
  const a = promValue(before, name, match);
  const b = promValue(after, name, match);
  return a === undefined || b === undefined ? undefined : b - a;
}
