// Shapes shared by the LLM layer's files; client.ts and index.ts re-export them.
import type { Logger } from 'pino';

export type { Logger };

export interface AuxFeature { name: string; description: string }

export interface TokenUsage { input: number; output: number }

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

/**
 * Structurally identical to the TextEncoder of src/model/encoder.ts, kept local
 * so that llm/ does not depend on model/ (nothing in model/ may know HTTP).
 */
export interface TextEncoder {
  readonly id: { name: string; dim: number; version: string };
  encode(texts: string[]): Promise<Float32Array[]>;
}

export interface CallContext { log?: Logger; itemId?: string; jobId?: string }
