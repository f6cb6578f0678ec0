// bench:lookup at several item counts in one run (`--items 10000,1000000`, the default): the
// bench runs once per count, each in a child process with its own Postgres, Redis, service
// and bare server (so one count's memory, caches and autovacuum are not the next one's), each
// printing its full report; then the counts side by side, with the targets that compare them:
// - lookup p99 at the largest count ≤ 1.2× its value at the smallest, for the single-item GET
//   paced to about half of each count's own peak (the same load relative to what the process
//   can do: at the peak a p99 is the queue, and says throughput again). The 100-id JSON
//   lookup's p99 at the peak is shown beside it;
// - resident memory per cached item at the largest count ≤ 2× the raw float32 vector + id.
// A count above 100,000 skips the mixed phase unless --mixed is given (its training fits the
// text encoder on every item's text: many minutes at a million items), and gets a
// LOOKUP_CACHE_BYTES that holds every item unless one is set.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { addCleanup, log } from './harness.js';
import { halfPeakGet, type LookupReport, type PhaseResult, type RunFigures } from './lookup-report.js';
import { fixed, int, table } from './stats.js';

const MIB = 1024 * 1024;
/** The service's default LOOKUP_CACHE_BYTES (src/config.ts). */
const DEFAULT_CACHE_BYTES = 256 * MIB;
/** Budget per item when the bench sizes the cache: the entry (~340 bytes at dim 64), its share of JSON fragments, room to spare. */
const CACHE_BYTES_PER_ITEM = 672;

/** The args without `--name value` / `--name=value`. */
function without(args: readonly string[], name: string): string[] {
  const out: string[] = [];
  for (let i = 0; i < args.length; i++) {
    if (args[i] === `--${name}`) i++;
    else if (!args[i]!.startsWith(`--${name}=`)) out.push(args[i]!);
  }
  return out;
}

function runOne(script: string, args: string[], env: NodeJS.ProcessEnv): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', script, ...args], { stdio: 'inherit', env });
    // Ctrl-C reaches the child too (same process group); SIGTERM of this bench is passed on
    addCleanup('bench at one item count', async () => void (child.exitCode === null && child.kill('SIGTERM')));
    child.once('error', reject);
    child.once('exit', (code, signal) => resolve(code ?? (signal ? 1 : 0)));
  });
}

/** Runs `script` (lookup-bench.ts) once per count with the other args, then prints the counts side by side. */
export async function runScales(script: string, counts: number[], argv: readonly string[], out: string | undefined): Promise<number> {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'emerflow-lookup-scales-'));
  addCleanup('scale results', async () => fs.rmSync(tmp, { recursive: true, force: true }));
  const rest = without(without(argv, 'items'), 'out');
  const reports: LookupReport[] = [];
  let failed = 0;
  for (const n of counts) {
    const file = path.join(tmp, `${n}.json`);
    const args = ['--items', String(n), '--out', file, ...rest];
    if (n > 100_000 && !rest.some((a) => a === '--mixed' || a.startsWith('--mixed='))) args.push('--mixed', 'no');
    const env = { ...process.env };
    if (env['LOOKUP_CACHE_BYTES'] === undefined && n * CACHE_BYTES_PER_ITEM > DEFAULT_CACHE_BYTES)
      env['LOOKUP_CACHE_BYTES'] = String(Math.ceil((n * CACHE_BYTES_PER_ITEM) / MIB) * MIB);
    log(
      `==== ${int(n)} items: bench/lookup-bench.ts ${args.join(' ')}` +
        (env['LOOKUP_CACHE_BYTES'] ? ` (LOOKUP_CACHE_BYTES=${env['LOOKUP_CACHE_BYTES']})` : ''),
    );
    const code = await runOne(script, args, env);
    if (code !== 0) failed++;
    if (!fs.existsSync(file)) throw new Error(`the run at ${int(n)} items wrote no results (exit code ${code})`);
    reports.push(JSON.parse(fs.readFileSync(file, 'utf8')) as LookupReport);
  }
  const side = sideBySide(reports);
  console.log(`\n==== side by side: ${counts.map((n) => int(n)).join(' and ')} items\n`);
  console.log(side.table);
  console.log('\ntargets across the counts\n');
  console.log(table(['target', 'measured', 'verdict'], side.targets));
  if (out) {
    fs.writeFileSync(out, JSON.stringify({ reports, targets: side.targets }, null, 2) + '\n');
    console.log(`\nresults written to ${out}`);
  }
  return failed > 0 ? 1 : 0;
}

/**
 * The single-item GET "at half of the peak" of each report, the same kind of run for all: the
 * paced runs when every report has one (each paced to about half its own peak), else each
 * one's judged run (halfPeakGet), so one count's paced p99 is not set against another's c4 run.
 */
function halfPeakRuns(reports: LookupReport[]): { runs: (RunFigures | undefined)[]; bare: (RunFigures | undefined)[]; kind: string } {
  const paced = reports.map((r) => r.phases.find((p) => p.key === 'get-half'));
  if (paced.every((p) => p !== undefined)) return { runs: paced.map((p) => p.service), bare: paced.map((p) => p.bare), kind: 'paced' };
  return {
    runs: reports.map((r) => halfPeakGet(r.phases).judged),
    bare: reports.map((r) => r.phases.find((p) => p.key === (halfPeakGet(r.phases).judgedPaced ? 'get-half' : 'get-low'))?.bare),
    kind: 'judged',
  };
}

function sideBySide(reports: LookupReport[]): { table: string; targets: string[][] } {
  const first = reports[0]!;
  const last = reports[reports.length - 1]!;
  const phase = (r: LookupReport, k: PhaseResult['key']) => r.phases.find((p) => p.key === k);
  const half = halfPeakRuns(reports);
  const halfAt = (r: LookupReport) => half.runs[reports.indexOf(r)];
  const ms = (x: number | undefined) => (x === undefined ? 'n/a' : `${x.toFixed(2)} ms`);
  const rows: [string, (r: LookupReport) => string, (r: LookupReport) => number | undefined][] = [
    ['single-item GET, req/s service ÷ bare (c32)', (r) => ratioText(phase(r, 'get')), () => undefined],
    ['single-item GET, CPU µs a request, service / bare', (r) => cpuText(phase(r, 'get')), () => undefined],
    [
      `single-item GET p99 at half of the peak (${half.kind === 'paced' ? 'paced runs' : 'judged runs'}), service; bare`,
      (r) => `${ms(halfAt(r)?.latencyMs.p99)}; bare ${ms(half.bare[reports.indexOf(r)]?.latencyMs.p99)}`,
      (r) => halfAt(r)?.latencyMs.p99,
    ],
    [
      '100-id JSON lookup p99 at the peak (c32), service; bare',
      (r) => `${ms(phase(r, 'lookup100')?.service.latencyMs.p99)}; bare ${ms(phase(r, 'lookup100')?.bare?.latencyMs.p99)}`,
      (r) => phase(r, 'lookup100')?.service.latencyMs.p99,
    ],
    ['100-id JSON lookup, req/s service ÷ bare', (r) => ratioText(phase(r, 'lookup100')), () => undefined],
    [
      'resident memory per cached item (× raw vector + id)',
      (r) => {
        const m = r.memory;
        return m.rssBytesPerItem === undefined
          ? 'n/a'
          : `${int(m.rssBytesPerItem)} B (${fixed(m.rssBytesPerItem / m.rawBytesPerItem, 1)}×)` +
              (r.load.items < 100_000 ? ', mostly the process growing' : '');
      },
      () => undefined,
    ],
  ];
  const header = ['figure', ...reports.map((r) => `${int(r.load.items)} items`), `${int(last.load.items)} ÷ ${int(first.load.items)}`];
  const body = rows.map(([name, text, value]) => {
    const a = value(first);
    const b = value(last);
    return [name, ...reports.map(text), a !== undefined && b !== undefined && a > 0 ? `${(b / a).toFixed(2)}×` : '—'];
  });
  const p99a = halfAt(first)?.latencyMs.p99;
  const p99b = halfAt(last)?.latencyMs.p99;
  const p99Ratio = p99a !== undefined && p99b !== undefined && p99a > 0 ? p99b / p99a : undefined;
  const m = last.memory;
  const memRatio = m.rssBytesPerItem === undefined ? undefined : m.rssBytesPerItem / m.rawBytesPerItem;
  const verdict = (ok: boolean | undefined) => (ok === undefined ? 'n/a' : ok ? 'PASS' : 'MISS');
  const targets = [
    [
      `lookup p99 at ${int(last.load.items)} items ≤ 1.2× its value at ${int(first.load.items)} ` +
        `(single-item GET at half of each one's peak, ${half.kind === 'paced' ? 'paced runs' : 'judged runs'})`,
      p99Ratio === undefined ? 'n/a' : `${p99Ratio.toFixed(2)}× (${ms(p99b)} vs ${ms(p99a)})`,
      verdict(p99Ratio === undefined ? undefined : p99Ratio <= 1.2),
    ],
    [
      `resident memory per cached item at ${int(last.load.items)} items ≤ 2× the raw vector + id`,
      memRatio === undefined ? 'n/a' : `${int(m.rssBytesPerItem)} B = ${memRatio.toFixed(2)}× ${fixed(m.rawBytesPerItem, 1)} B`,
      verdict(memRatio === undefined ? undefined : memRatio <= 2),
    ],
  ];
  return { table: table(header, body), targets };
}

function ratioText(p: PhaseResult | undefined): string {
  if (!p?.bare || !(p.bare.rps > 0)) return 'n/a';
  return `${(p.service.rps / p.bare.rps).toFixed(2)}× (${int(p.service.rps)} vs ${int(p.bare.rps)})`;
}

function cpuText(p: PhaseResult | undefined): string {
  const s = p?.service.cpuUsPerRequest;
  const b = p?.bare?.cpuUsPerRequest;
  return s === undefined || b === undefined ? 'n/a' : `${int(s)} / ${int(b)}`;
}
