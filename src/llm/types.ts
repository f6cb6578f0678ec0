// Shapes shared by the LLM layer's files; client.ts and index.ts re-export them.
import type { Logger } from 'pino';

export type { Logger };

export interface AuxFeature {
  name: string;
  description: string;
}

export interface TokenUsage {
  input: number;
  output: number;
}

export interface AuxFeaturesAnswer {
  features: AuxFeature[];
  model: string;
  promptVersion: string;
  tokens: TokenUsage;
  /** The model's short analysis of what the raw features lack (capped; informative only). */
  rationale?: string;
  cached?: boolean;
}

export interface Enrichment {
  attributes: Record<string, string>;
  model: string;
  promptVersion: string;
  tokens: TokenUsage;
  cached: boolean;
}

// The encoder interface of src/model (type-only: nothing of TF.js is loaded here).
export type { TextEncoder } from '../model/index.js';

export interface CallContext {
  log?: Logger;
  itemId?: string;
  jobId?: string;
}
