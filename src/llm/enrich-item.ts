// Step two of the method: the LLM fills in the auxiliary features of one item
// from its raw features. Cached by (model, prompt version, content hash) so that
// a re-sent unchanged item or a retried job never pays twice.
import { normaliseAuxFeatures } from './aux-features.js';
import { cacheKey, sha256 } from './cache.js';
import { ENRICH_PROMPT_VERSION, enrichMessages, sanitiseText } from './prompts.js';
import { cachedOnce, type Runtime } from './runtime.js';
import { enrichmentSchema, validate, type JsonSchema } from './schema.js';
import { structuredChat } from './structured.js';
import type { AuxFeature, Enrichment, Logger } from './types.js';

export interface EnrichInput {
  itemType: string;
  auxFeatures: AuxFeature[];
  features: Record<string, unknown>;
  /** The item's content hash as stored with it (raw features). */
  contentHash: string;
}

type Stored = Omit<Enrichment, 'cached'>;

export async function enrichItem(rt: Runtime, input: EnrichInput, log: Logger): Promise<Enrichment> {
  // Normalised here too so that attribute keys are always tame property names,
  // whoever wrote the list (the LLM or a user through the API).
  const aux = normaliseAuxFeatures(input.auxFeatures);
  if (aux.length === 0) {
    return { attributes: {}, model: rt.opts.model, promptVersion: ENRICH_PROMPT_VERSION, tokens: { input: 0, output: 0 }, cached: false };
  }
  const schema = enrichmentSchema(aux);
  // The item's hash alone is not enough: the same item asked for another list
  // of features (a user replaced it) or as another item type is another question.
  const key = cacheKey(rt.opts.model, ENRICH_PROMPT_VERSION, sha256(JSON.stringify([input.contentHash, input.itemType, aux])));
  const cap = rt.opts.maxAttributeChars;

  const { value, cached } = await cachedOnce(
    rt,
    'enrich',
    key,
    (v) => readCached(v, schema, cap),
    async (): Promise<Stored> => {
      const { value: attributes, tokens } = await structuredChat(rt, {
        op: 'enrich',
        schemaName: 'item_enrichment',
        schema,
        messages: enrichMessages({ itemType: input.itemType, auxFeatures: aux, features: input.features }, cap),
        expectedOutputTokens: aux.length * Math.min(64, Math.ceil(cap / 4)) + 16,
        accept: (raw) => capAttributes(raw as Record<string, string>, cap),
        log,
      });
      return { attributes, model: rt.opts.model, promptVersion: ENRICH_PROMPT_VERSION, tokens };
    },
    log,
  );
  log.info({ op: 'enrich', tokens: value.tokens, cached }, 'item enriched');
  return { ...value, cached };
}

/** Stored as text only: control characters stripped, each value capped. */
function capAttributes(raw: Record<string, string>, cap: number): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(raw)) out[k] = sanitiseText(v, cap);
  return out;
}

/** A cached answer is used only if it still fits today's schema and shape. */
function readCached(v: unknown, schema: JsonSchema, cap: number): Stored | undefined {
  const s = v as Partial<Stored> | null;
  if (!s || typeof s.model !== 'string' || typeof s.promptVersion !== 'string' || !s.tokens) return undefined;
  if (validate(schema, s.attributes).length > 0) return undefined;
  return {
    attributes: capAttributes(s.attributes as Record<string, string>, cap),
    model: s.model,
    promptVersion: s.promptVersion,
    tokens: s.tokens,
  };
}
