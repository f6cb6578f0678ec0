// Normalisation of auxiliary-feature lists, whether the LLM proposed them or a
// user replaced them through the API: their names become JSON-schema property
// names and serialised `name: content` lines, so they must be tame.
import { cacheKey, sha256 } from './cache.js';
import { LlmError } from './errors.js';
import { AUX_PROMPT_VERSION, auxFeaturesMessages, sanitiseText } from './prompts.js';
import { cachedOnce, type Runtime } from './runtime.js';
import { AUX_ANSWER_SCHEMA } from './schema.js';
import { structuredChat } from './structured.js';
import type { AuxFeature, AuxFeaturesAnswer, Logger } from './types.js';

export const MAX_AUX_FEATURES = 16;

/** Identifies an auxiliary-feature list, whatever order jsonb gives its keys back in. */
export function auxHash(aux: readonly { name: string; description: string }[]): string {
  return sha256(JSON.stringify(aux.map((f) => [f.name, f.description]))).slice(0, 16);
}
const MAX_NAME_CHARS = 48;
const MAX_DESCRIPTION_CHARS = 200;

/** "Target Audience" / "targetAudience" / "target-audience" → "target_audience"; '' when nothing is left. */
export function normaliseFeatureName(name: string): string {
  let s = name
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '') // diacritics left by NFKD
    .replace(/([a-z])([A-Z])/g, '$1_$2')
    .replace(/([0-9])([A-Z][a-z])/g, '$1_$2')
    .replace(/([A-Z]+)([A-Z][a-z])/g, '$1_$2')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '_')
    .replace(/^_+|_+$/g, '');
  if (/^[0-9]/.test(s)) s = `f_${s}`;
  return s.slice(0, MAX_NAME_CHARS).replace(/_+$/, '');
}

/**
 * snake_case names, descriptions stripped and capped, duplicates and names
 * that repeat a raw feature dropped (the point is what raw data lacks), at most
 * 16 features in the given order.
 */
export function normaliseAuxFeatures(
  features: readonly { name: string; description?: string }[],
  rawFeatureNames: readonly string[] = [],
): AuxFeature[] {
  const taken = new Set(rawFeatureNames.map(normaliseFeatureName));
  const out: AuxFeature[] = [];
  for (const f of features) {
    if (typeof f?.name !== 'string') continue;
    const name = normaliseFeatureName(f.name);
    if (!name || taken.has(name)) continue;
    taken.add(name);
    out.push({ name, description: sanitiseText(typeof f.description === 'string' ? f.description : '', MAX_DESCRIPTION_CHARS) });
    if (out.length === MAX_AUX_FEATURES) break;
  }
  return out;
}

/** Step one of the method: which auxiliary features would help predict who likes items of this type. */
export async function proposeAuxFeatures(
  rt: Runtime,
  input: { itemType: string; featureNames: string[]; examples?: Record<string, unknown>[] },
  log: Logger,
): Promise<AuxFeaturesAnswer> {
  const contentHash = sha256(JSON.stringify([input.itemType, [...input.featureNames].sort(), input.examples ?? []]));
  const key = cacheKey(rt.opts.model, AUX_PROMPT_VERSION, contentHash);
  const { value, cached } = await cachedOnce(
    rt,
    'aux',
    key,
    readCachedAux,
    async (): Promise<AuxFeaturesAnswer> => {
      const { value: v, tokens } = await structuredChat(rt, {
        op: 'aux',
        schemaName: 'auxiliary_features',
        schema: AUX_ANSWER_SCHEMA,
        messages: auxFeaturesMessages(input),
        expectedOutputTokens: 1_000,
        accept: (raw) => {
          const a = raw as { rationale: string; features: AuxFeature[] };
          const features = normaliseAuxFeatures(a.features, input.featureNames);
          if (features.length === 0) throw new LlmError('invalid_output', 'no usable auxiliary feature in the answer');
          return { features, rationale: sanitiseText(a.rationale, 1_000) };
        },
        log,
      });
      return { ...v, model: rt.opts.model, promptVersion: AUX_PROMPT_VERSION, tokens };
    },
    log,
  );
  log.info({ op: 'aux', features: value.features.map((f) => f.name), tokens: value.tokens, cached }, 'auxiliary features proposed');
  return { ...value, cached };
}

function readCachedAux(v: unknown): AuxFeaturesAnswer | undefined {
  const a = v as Partial<AuxFeaturesAnswer> | null;
  if (!a || !Array.isArray(a.features) || typeof a.model !== 'string' || typeof a.promptVersion !== 'string' || !a.tokens) return undefined;
  const features = normaliseAuxFeatures(a.features);
  if (features.length === 0) return undefined;
  return {
    features,
    model: a.model,
    promptVersion: a.promptVersion,
    tokens: a.tokens,
    ...(typeof a.rationale === 'string' ? { rationale: a.rationale } : {}),
  };
}
