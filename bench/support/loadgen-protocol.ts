// Messages between a bench and its load-generator process (bench/support/loadgen.ts).
import type { ItemKind } from './world.js';

export interface LoadConfig {
  url: string;
  space: string;
  seconds: number;
  world: { seed: number; dim: number; users: number };
  /** Interaction events at `rate` per second, uniformly at random over the items, `batch` per POST. */
  events?: { rate: number; batch: number; kind: ItemKind; from: number; count: number; idPrefix: string; maxInflight: number };
  /** Lookups of `ids` random items each, `rate` requests per second. */
  lookups?: { rate: number; ids: number; kind: ItemKind; from: number; count: number; maxInflight: number };
  /** One new emerging item every `everyMs`, ids `${kind}${from + k}`. */
  newItems?: { everyMs: number; kind: ItemKind; from: number };
  progressEveryMs: number;
}

export interface StreamStats {
  requests: number;
  ok: number;
  throttled: number;
  errors: number;
  dropped: number;
  /** events: posted / accepted / duplicates; lookups: ids asked / found / missing; new items: posted. */
  units: number;
  accepted: number;
  duplicates: number;
  missing: number;
  latency?: { p50: number; p95: number; p99: number; max: number };
}

export interface LoadStats {
  elapsedS: number;
  events?: StreamStats;
  lookups?: StreamStats;
  newItems?: StreamStats & { lastIndex: number };
  errorSamples: string[];
}

export type ToChild = { type: 'start'; config: LoadConfig } | { type: 'go' } | { type: 'stop' };
export type FromChild =
  | { type: 'ready' }
  | { type: 'started' }
  | { type: 'progress'; stats: LoadStats }
  | { type: 'done'; stats: LoadStats }
  | { type: 'error'; message: string };
