// Figures and tables for the benchmark reports.

export function percentile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[i]!;
}

export interface Summary {
  n: number;
  p50: number;
  p95: number;
  p99: number;
  max: number;
  mean: number;
}

export function summarise(values: readonly number[]): Summary {
  const s = [...values].sort((a, b) => a - b);
  const mean = s.length ? s.reduce((a, b) => a + b, 0) / s.length : NaN;
  return {
    n: s.length,
    p50: percentile(s, 0.5),
    p95: percentile(s, 0.95),
    p99: percentile(s, 0.99),
    max: s.length ? s[s.length - 1]! : NaN,
    mean,
  };
}

export function mean(xs: readonly number[]): number {
  return xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : NaN;
}

/** Milliseconds as "123 ms" or "1.23 s". */
export function ms(x: number): string {
  if (!Number.isFinite(x)) return 'n/a';
  return x < 1000 ? `${x.toFixed(0)} ms` : `${(x / 1000).toFixed(2)} s`;
}

export function secs(x: number, digits = 1): string {
  return Number.isFinite(x) ? `${x.toFixed(digits)} s` : 'n/a';
}

export function int(x: number | undefined | null): string {
  return x === undefined || x === null || !Number.isFinite(x) ? 'n/a' : Math.round(x).toLocaleString('en-US');
}

export function fixed(x: number | undefined | null, digits = 1): string {
  return x === undefined || x === null || !Number.isFinite(x) ? 'n/a' : x.toFixed(digits);
}

export function mib(bytes: number | undefined | null): string {
  return bytes === undefined || bytes === null || !Number.isFinite(bytes) ? 'n/a' : `${(bytes / 2 ** 20).toFixed(1)} MiB`;
}

/** A markdown table, like the other benches print. */
export function table(header: string[], rows: (string | number)[][]): string {
  const line = (cells: (string | number)[]) => `| ${cells.map(String).join(' | ')} |`;
  return [line(header), line(header.map(() => '---')), ...rows.map(line)].join('\n');
}

/** Keeps at most `n` rows of a long series, evenly spaced, always with the last one. */
export function thin<T>(rows: readonly T[], n: number): T[] {
  if (rows.length <= n) return [...rows];
  const step = rows.length / n;
  const out: T[] = [];
  for (let i = 0; i < n - 1; i++) out.push(rows[Math.floor(i * step)]!);
  out.push(rows[rows.length - 1]!);
  return out;
}
