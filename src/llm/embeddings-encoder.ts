// A TextEncoder over /v1/embeddings of the same endpoint (EMBEDDING_MODEL).
// Requests go through the same breaker, limits and retry layer as chat. The
// dimension is checked on every answer: a model swapped behind the same name
// must not slip vectors of another size into a space.
import { LlmError } from './errors.js';
import { estimateTokens } from './prompts.js';
import { guardedCall, operation, usageOf, type Runtime } from './runtime.js';
import type { Logger, TextEncoder } from './types.js';

export const EMBEDDINGS_ENCODER_VERSION = 'oai-emb-v1';

export function createEmbeddingsEncoder(rt: Runtime, model: string, log: Logger): TextEncoder {
  let dim: number | undefined = rt.opts.embeddingDim;
  // One id object for the encoder's life: its dim is filled in by the first
  // answer when embeddingDim is unset, so whoever kept a reference to `id`
  // (e.g. a model artifact being built) sees the real dimension once encoding ran.
  const id = { name: `openai:${model}`, dim: dim ?? 0, version: EMBEDDINGS_ENCODER_VERSION };

  async function encodeBatch(batch: string[]): Promise<Float32Array[]> {
    // OpenAI rejects empty strings in `input`.
    const input = batch.map((t) => (t.length > 0 ? t : ' '));
    const res = await guardedCall(rt, {
      op: 'embed',
      model,
      estimatedTokens: estimateTokens(input),
      // encoding_format 'float': the SDK otherwise asks for base64, which Ollama and TGI do not speak.
      send: (signal) =>
        rt.openai.embeddings.create({ model, input, encoding_format: 'float' }, { signal, timeout: rt.opts.timeoutMs, maxRetries: 0 }),
      usage: (r) => usageOf(r.usage),
      log,
    });
    const data = Array.isArray(res?.data) ? [...res.data] : [];
    if (data.length !== batch.length)
      throw new LlmError('invalid_output', `embeddings answer has ${data.length} vectors for ${batch.length} texts`);
    // `index` says which input a vector belongs to; servers need not keep order.
    if (data.every((d) => typeof d.index === 'number')) data.sort((a, b) => a.index - b.index);
    return data.map((d) => {
      const v = d.embedding as unknown;
      if (!Array.isArray(v) || v.some((x) => typeof x !== 'number' || !Number.isFinite(x))) {
        throw new LlmError('invalid_output', 'embeddings answer holds a vector that is not a list of finite numbers');
      }
      if (dim === undefined) {
        dim = v.length;
        id.dim = dim;
      }
      if (v.length !== dim) {
        throw new LlmError('wrong_dimension', `embedding model ${model} answered dimension ${v.length}, expected ${dim}`);
      }
      return Float32Array.from(v as number[]);
    });
  }

  return {
    id,
    encode(texts: string[]): Promise<Float32Array[]> {
      return operation(rt, 'embed', log, async () => {
        const out: Float32Array[] = [];
        // Sequential batches: the limiter already bounds concurrency across callers.
        for (let i = 0; i < texts.length; i += rt.opts.embeddingBatchSize) {
          out.push(...(await encodeBatch(texts.slice(i, i + rt.opts.embeddingBatchSize))));
        }
        return out;
      });
    },
  };
}
