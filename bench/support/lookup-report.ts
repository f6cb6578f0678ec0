// The lookup bench's results: what each phase measured, the targets judged from them,
// and the tables printed to stdout (the same data goes to --out as JSON).
import { fixed, int, mib, table } from './stats.js';
import type { WrkResult } from './wrk.js';

/** One wrk run against one server, without wrk's raw text. */
export type RunFigures = Omit<WrkResult, 'raw'> & {
  cacheHitRate?: number;
  /** The server process's CPU time (user + system, all threads) over the run ÷ its requests. */
  cpuUsPerRequest?: number;
};

export interface PhaseResult {
  key: 'get' | 'get-low' | 'get-half' | 'lookup100' | 'lookup1000' | 'f32' | 'f32-1000' | 'mixed-quiet' | 'mixed';
  label: string;
  idsPerRequest: number;
  connections: number;
  service: RunFigures;
  bare?: RunFigures;
  /** service ÷ bare req/s of each round, ascending (with --rounds > 1); service and bare are the reported round's */
  ratios?: number[];
  /**
   * A float32 phase's service float32 ÷ service JSON req/s of each round, ascending: each
   * round runs the JSON lookup of the same size on the service just before the float32 one
   */
  formatRatios?: number[];
}

export interface MixedExtra {
  /** req/s of the reported round's quiet run: the same lookups, just before the events began */
  quietRps: number;
  /** mixed ÷ quiet of every round, sorted (with --rounds > 1) */
  ratios?: number[];
  cacheHits?: number;
  cacheMisses?: number;
  hitRate?: number;
  eventsPerS: number;
  eventsAccepted: number;
  feederErrors: number;
  feederThrottled: number;
  refineJobs?: number;
}

export interface Target {
  target: string;
  measured: string;
  verdict: 'PASS' | 'MISS' | 'n/a';
}

export interface LookupReport {
  config: Record<string, number | string>;
  load: { items: number; seconds: number; itemsPerS: number; cacheWarmS: number; bareBuildS: number };
  memory: {
    serverStartRss?: number;
    afterLoadRss?: number;
    afterLookupsRss?: number;
    afterMixedRss?: number;
    bareRss?: number;
    rawBytesPerItem: number;
    rssBytesPerItem?: number;
  };
  phases: PhaseResult[];
  mixed?: MixedExtra;
  targets: Target[];
}

export function figures(w: WrkResult, cacheHitRate?: number, cpuUsPerRequest?: number): RunFigures {
  const { raw: _raw, ...rest } = w;
  return {
    ...rest,
    ...(cacheHitRate === undefined ? {} : { cacheHitRate }),
    ...(cpuUsPerRequest === undefined ? {} : { cpuUsPerRequest }),
  };
}

const verdict = (ok: boolean | undefined, errors: number): Target['verdict'] =>
  ok === undefined ? 'n/a' : ok && errors === 0 ? 'PASS' : 'MISS';
const errs = (...xs: (RunFigures | undefined)[]) => xs.reduce((a, x) => a + (x?.errors ?? 0), 0);
const pct = (x: number | undefined) => (x === undefined || !Number.isFinite(x) ? 'n/a' : `${(x * 100).toFixed(1)} %`);
const ratio = (a: number | undefined, b: number | undefined) => (a === undefined || b === undefined || !(b > 0) ? undefined : a / b);
const times = (x: number | undefined) => (x === undefined ? 'n/a' : `${x.toFixed(2)}×`);
const cpu = (f: RunFigures | undefined) => (f?.cpuUsPerRequest === undefined ? '—' : int(f.cpuUsPerRequest));
const withErrors = (s: string, n: number) => (n ? `${s} (${int(n)} failed requests)` : s);

/**
 * The single-item GET "at half of peak": the paced run when it reached 40–60 % of the peak rate
 * (it holds that rate, which the target names); else the low-connection run, which runs as fast
 * as its connections allow.
 */
export function halfPeakGet(phases: PhaseResult[]): {
  paced: RunFigures | undefined;
  pacedShare: number | undefined;
  judgedPaced: boolean;
  judged: RunFigures | undefined;
} {
  const peak = phases.find((p) => p.key === 'get')?.service;
  const paced = phases.find((p) => p.key === 'get-half')?.service;
  const pacedShare = ratio(paced?.rps, peak?.rps);
  const judgedPaced = paced !== undefined && pacedShare !== undefined && pacedShare >= 0.4 && pacedShare <= 0.6;
  return { paced, pacedShare, judgedPaced, judged: judgedPaced ? paced : phases.find((p) => p.key === 'get-low')?.service };
}

/** The targets of the issue, judged; a run with failed requests never passes. */
export function judge(phases: PhaseResult[], mixed: MixedExtra | undefined): Target[] {
  const by = (k: PhaseResult['key']) => phases.find((p) => p.key === k);
  const get = by('get');
  const low = by('get-low');
  const l100 = by('lookup100');
  const f32 = by('f32');
  const mix = by('mixed');
  const out: Target[] = [];
  const getRatio = ratio(get?.service.rps, get?.bare?.rps);
  out.push({
    target: 'single-item GET ≥ 0.8× bare',
    measured: withErrors(times(getRatio), errs(get?.service, get?.bare)),
    verdict: verdict(getRatio === undefined ? undefined : getRatio >= 0.8, errs(get?.service, get?.bare)),
  });
  const { paced, pacedShare, judgedPaced, judged } = halfPeakGet(phases);
  const p99 = judged?.latencyMs.p99;
  const share = ratio(low?.service.rps, get?.service.rps);
  const lowPart = low
    ? `c${low.connections}: ${low.service.latencyMs.p99.toFixed(2)} ms at ${share === undefined ? 'n/a' : share.toFixed(2)} of the peak`
    : 'n/a';
  const pacedPart = paced
    ? `paced at ${int(paced.rps)} req/s (${pacedShare === undefined ? 'n/a' : pacedShare.toFixed(2)} of the peak): ` +
      `${paced.latencyMs.p99.toFixed(2)} ms`
    : 'no paced run';
  out.push({
    target: `single-item GET p99 ≤ 2 ms at half of peak (judged: ${judgedPaced ? 'paced run' : `c${low?.connections ?? '?'} run`})`,
    measured: withErrors(judgedPaced ? `${pacedPart}; ${lowPart}` : `${lowPart}; ${pacedPart}`, errs(judged)),
    verdict: verdict(p99 === undefined ? undefined : p99 <= 2, errs(judged)),
  });
  const l100Ratio = ratio(l100?.service.rps, l100?.bare?.rps);
  out.push({
    target: '100-id JSON lookup ≥ 1.0× bare',
    measured: withErrors(times(l100Ratio), errs(l100?.service, l100?.bare)),
    verdict: verdict(l100Ratio === undefined ? undefined : l100Ratio >= 1, errs(l100?.service, l100?.bare)),
  });
  // The float32 answer against the JSON one at the same ids per request: at 100 ids the
  // per-request cost (HTTP, routing, auth) is most of both; at 1,000 the formats themselves.
  // Judged by the median of the rounds' own pairs (float32 just after JSON: the machine's
  // drift is then on neither side); else by the two phases' reported rounds.
  for (const [f, j, n] of [
    [f32, l100, '100'],
    [by('f32-1000'), by('lookup1000'), '1,000'],
  ] as const) {
    const paired = f?.formatRatios;
    const r = paired?.length
      ? paired[(paired.length - 1) >> 1]
      : ratio(f && f.service.rps * f.idsPerRequest, j && j.service.rps * j.idsPerRequest);
    const rounds = paired && paired.length > 1 ? ` (rounds: ${paired.map((x) => x.toFixed(2)).join(', ')})` : '';
    out.push({
      target: `float32 ≥ 3× JSON (ids/s, ${n} ids, service)`,
      measured: withErrors(times(r) + rounds, errs(f?.service, j?.service)),
      verdict: verdict(r === undefined ? undefined : r >= 3, errs(f?.service, j?.service)),
    });
  }
  out.push({
    target: 'mixed: cache hit rate ≥ 95 %',
    measured: pct(mixed?.hitRate),
    verdict: verdict(mixed?.hitRate === undefined ? undefined : mixed.hitRate >= 0.95, 0),
  });
  const mixRatio = ratio(mix?.service.rps, mixed?.quietRps);
  const feederErrors = mixed?.feederErrors ?? 0;
  out.push({
    target: 'mixed: throughput ≥ 0.7× quiet (the same 100-id JSON lookups, run just before without events)',
    measured: withErrors(
      times(mixRatio) + (mixed?.ratios ? ` (rounds: ${mixed.ratios.map((x) => x.toFixed(2)).join(', ')})` : ''),
      errs(mix?.service) + feederErrors,
    ),
    verdict: verdict(mixRatio === undefined ? undefined : mixRatio >= 0.7, errs(mix?.service) + feederErrors),
  });
  return out;
}

const ms2 = (x: number) => (Number.isFinite(x) ? x.toFixed(2) : 'n/a');
const lat = (r: RunFigures | undefined) => (r ? `${ms2(r.latencyMs.p50)} / ${ms2(r.latencyMs.p99)}` : '—');

export function printReport(r: LookupReport, header: string[]): void {
  console.log(`\n${header.join('\n')}\n`);
  const m = r.memory;
  const perItem = m.rssBytesPerItem;
  console.log(
    `service resident memory (VmRSS): at start ${mib(m.serverStartRss)}, after loading ${mib(m.afterLoadRss)}, after the lookup ` +
      `phases ${mib(m.afterLookupsRss)} (every item cached), after the mixed phase ${mib(m.afterMixedRss)}`,
  );
  // Below ~100,000 items the process's own growth (JIT, heap headroom) dominates the figure.
  const perItemText =
    perItem === undefined
      ? 'n/a'
      : `${int(perItem)} bytes = ${fixed(perItem / m.rawBytesPerItem, 1)}× ` +
        `the raw float32 vector + id (${fixed(m.rawBytesPerItem, 1)} bytes)`;
  const small = r.load.items < 100_000 ? ' (few items: mostly the process growing, not the items)' : '';
  console.log(
    `per item (after the lookup phases − at start, ÷ ${int(r.load.items)}): ${perItemText}${small}; bare server: ${mib(m.bareRss)}\n`,
  );
  console.log(
    table(
      [
        'phase',
        'service req/s',
        'bare req/s',
        'service ÷ bare',
        'ids/s service',
        'p50 / p99 ms service',
        'p50 / p99 ms bare',
        'bytes/answer service / bare',
        'CPU µs/request service / bare',
        'cache hits',
        'failed requests service / bare',
      ],
      r.phases.map((p) => [
        p.label,
        int(p.service.rps),
        p.bare ? int(p.bare.rps) : '—',
        p.bare
          ? times(ratio(p.service.rps, p.bare.rps))
          : p.key === 'mixed'
            ? `${times(ratio(p.service.rps, r.mixed?.quietRps))} of quiet`
            : '—',
        p.idsPerRequest > 1 ? int(p.service.rps * p.idsPerRequest) : '—',
        lat(p.service),
        lat(p.bare),
        `${int(p.service.bytesPerRequest)} / ${p.bare ? int(p.bare.bytesPerRequest) : '—'}`,
        `${cpu(p.service)} / ${cpu(p.bare)}`,
        pct(p.service.cacheHitRate),
        `${int(p.service.errors)} / ${p.bare ? int(p.bare.errors) : '—'}`,
      ]),
    ),
  );
  if (r.mixed) {
    const x = r.mixed;
    const hits =
      x.cacheHits === undefined
        ? 'hit rate n/a (no emerflow_lookup_cache_hits_total / emerflow_lookup_cache_misses_total in /metrics)'
        : `${int(x.cacheHits)} hits, ${int(x.cacheMisses)} misses`;
    console.log(
      `\nmixed phase: event feeder ${int(x.eventsPerS)} events/s accepted (${int(x.eventsAccepted)} in all, ${int(x.feederErrors)} ` +
        `errors, ${int(x.feederThrottled)} throttled); refine jobs completed during the measured run: ${int(x.refineJobs)}; lookup ` +
        `cache ${hits}`,
    );
  }
  console.log('\ntargets\n');
  console.log(
    table(
      ['target', 'measured', 'verdict'],
      r.targets.map((t) => [t.target, t.measured, t.verdict]),
    ),
  );
}
