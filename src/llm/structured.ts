// A chat completion with structured output: `response_format: json_schema`
// (strict), the answer parsed and validated against the same schema, and at
// most one re-ask when it does not validate. Used by both LLM steps.
import type { ChatCompletion, ChatCompletionCreateParamsNonStreaming, ChatCompletionMessageParam } from 'openai/resources/chat/completions';
import { LlmError } from './errors.js';
import { estimateTokens, reaskMessages } from './prompts.js';
import { guardedCall, usageOf, type Op, type Runtime } from './runtime.js';
import { parseAndValidate, type JsonSchema } from './schema.js';
import type { Logger, TokenUsage } from './types.js';

export interface StructuredRequest<T> {
  op: Op;
  /** The schema's name: ^[a-zA-Z0-9_-]{1,64}$ for OpenAI. */
  schemaName: string;
  schema: JsonSchema;
  messages: ChatCompletionMessageParam[];
  /** Expected answer size, to reserve token budget before the call. */
  expectedOutputTokens: number;
  /** Further checks after schema validation (throw invalid_output) and conversion. */
  accept: (value: unknown) => T;
  log: Logger;
}

export async function structuredChat<T>(rt: Runtime, req: StructuredRequest<T>): Promise<{ value: T; tokens: TokenUsage }> {
  const tokens: TokenUsage = { input: 0, output: 0 };
  try {
    return await ask(rt, req, tokens);
  } catch (err) {
    // Answers that were paid for and still rejected (or a re-ask that then failed) count
    // against budgets too: the error carries what they cost.
    if (err instanceof LlmError && tokens.input + tokens.output > 0) err.spent = { ...tokens };
    throw err;
  }
}

async function ask<T>(rt: Runtime, req: StructuredRequest<T>, tokens: TokenUsage): Promise<{ value: T; tokens: TokenUsage }> {
  let messages = req.messages;
  for (let ask = 0; ; ask++) {
    const completion = await complete(rt, req, messages);
    const usage = usageOf(completion.usage) ?? {
      input: estimateTokens(messages),
      output: Math.ceil((completion.choices[0]?.message?.content ?? '').length / 4),
    };
    tokens.input += usage.input;
    tokens.output += usage.output;
    const text = completion.choices[0]?.message?.content ?? null;
    try {
      return { value: req.accept(checkAnswer(completion, req.schema)), tokens };
    } catch (err) {
      if (!(err instanceof LlmError) || err.kind !== 'invalid_output') throw err;
      // One re-ask only, and not for answers a re-ask cannot fix (refusal, truncation).
      const reaskable = ask === 0 && typeof text === 'string' && text.length > 0 && !REFUSED.has(err);
      req.log.warn({ op: req.op, reason: err.message, detail: err.detail, reask: reaskable }, 'LLM answer rejected');
      if (!reaskable) throw err;
      // The model is told exactly what was wrong (the violations it can fix), not just that it was.
      messages = reaskMessages(req.messages, text, err.detail ? `${err.message}: ${err.detail}` : err.message);
    }
  }
}

const REFUSED = new WeakSet<LlmError>();

function checkAnswer(completion: ChatCompletion, schema: JsonSchema): unknown {
  const choice = completion.choices?.[0];
  if (!choice) throw new LlmError('invalid_output', 'answer has no choices');
  if (choice.message?.refusal) {
    const e = new LlmError('invalid_output', 'model refused to answer');
    REFUSED.add(e);
    throw e;
  }
  if (choice.finish_reason === 'length') {
    const e = new LlmError('invalid_output', 'answer cut off at the token limit');
    REFUSED.add(e);
    throw e;
  }
  return parseAndValidate(schema, choice.message?.content);
}

function complete<T>(rt: Runtime, req: StructuredRequest<T>, messages: ChatCompletionMessageParam[]): Promise<ChatCompletion> {
  const body: ChatCompletionCreateParamsNonStreaming = {
    model: rt.opts.model,
    messages,
    response_format: {
      type: 'json_schema',
      json_schema: { name: req.schemaName, strict: true, schema: req.schema as Record<string, unknown> },
    },
    ...(rt.opts.temperature !== undefined ? { temperature: rt.opts.temperature } : {}),
    // an answer cannot run on (and be billed) past this; a cut-off answer is refused, not re-asked
    ...(rt.opts.maxOutputTokens ? { max_completion_tokens: rt.opts.maxOutputTokens } : {}),
  };
  return guardedCall(rt, {
    op: req.op,
    model: rt.opts.model,
    estimatedTokens: estimateTokens(messages) + req.expectedOutputTokens,
    // maxRetries: 0 here too, in case a caller built the SDK client without it.
    send: (signal) => rt.openai.chat.completions.create(body, { signal, timeout: rt.opts.timeoutMs, maxRetries: 0 }),
    usage: (c) => usageOf(c.usage),
    log: req.log,
  });
}
