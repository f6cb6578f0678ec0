// The replay's LLM: a local HTTP server speaking the OpenAI chat-completions protocol that
// answers the service's enrichment prompts with the text the dataset recorded for each item
// (items.jsonl `text`: what an LLM or a catalogue wrote). The service enriches through its own
// client, cache and validation as in production; only the answers are replayed, so its items
// are serialised exactly as the offline eval serialises them (raw features + that text).
import { createServer, type ServerResponse } from 'node:http';
import { readBody } from '../net/read-body.js';
import type { AddressInfo } from 'node:net';
import { sanitiseData } from '../llm/prompts.js';
import { normaliseFeatureName } from '../llm/aux-features.js';
import type { DatasetItem } from '../eval/dataset/types.js';

export interface RecordedLlm {
  /** base URL including /v1 */
  url: string;
  /** the auxiliary features to set on the space: one per text field of the dataset */
  auxFeatures: { name: string; description: string }[];
  /** chat answers given, and prompts whose item was not in the dataset (answered with empty values) */
  stats: { answered: number; unknown: number };
  close(): Promise<void>;
}

/** Key of an item as the prompt carries it: its features as the service sanitises them, keys sorted. */
function itemKey(features: unknown): string {
  const sort = (v: unknown): unknown =>
    Array.isArray(v)
      ? v.map(sort)
      : v && typeof v === 'object'
        ? Object.fromEntries(
            Object.keys(v)
              .sort()
              .map((k) => [k, sort((v as Record<string, unknown>)[k])]),
          )
        : v;
  return JSON.stringify(sort(sanitiseData(features)));
}

/** The JSON between <data> and </data> in the last user message (src/llm/prompts.ts dataBlock). */
function dataOf(body: { messages?: { role: string; content?: unknown }[] }): Record<string, unknown> | null {
  const user = [...(body.messages ?? [])].reverse().find((m) => m.role === 'user');
  const text = typeof user?.content === 'string' ? user.content : '';
  const m = /<data>\n([\s\S]*)\n<\/data>/.exec(text);
  if (!m?.[1]) return null;
  try {
    return JSON.parse(m[1]) as Record<string, unknown>;
  } catch {
    return null;
  }
}

export async function startRecordedLlm(items: DatasetItem[], model = 'recorded'): Promise<RecordedLlm> {
  // field name as the service normalises it → the dataset's own key
  const fields = new Map<string, string>();
  for (const it of items) for (const k of Object.keys(it.text ?? {})) fields.set(normaliseFeatureName(k), k);
  const byKey = new Map(items.filter((it) => it.text).map((it) => [itemKey(it.features), it.text!]));
  const stats = { answered: 0, unknown: 0 };

  const send = (res: ServerResponse, status: number, body: unknown) => {
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(JSON.stringify(body));
  };
  const server = createServer((req, res) => {
    void (async () => {
      const path = (req.url ?? '').split('?')[0];
      if (req.method === 'GET' && path === '/v1/models') return send(res, 200, { object: 'list', data: [{ id: model, object: 'model' }] });
      if (req.method !== 'POST' || path !== '/v1/chat/completions') return send(res, 404, { error: { message: 'not found' } });
      const body = JSON.parse(await readBody(req)) as { messages?: { role: string; content?: unknown }[] };
      const data = dataOf(body);
      const toFill = Array.isArray(data?.['features_to_fill']) ? (data['features_to_fill'] as { name: string }[]) : null;
      let answer: Record<string, unknown>;
      if (toFill) {
        const text = byKey.get(itemKey(data?.['item'] ?? {}));
        if (text) stats.answered++;
        else stats.unknown++;
        answer = Object.fromEntries(toFill.map((f) => [f.name, text?.[fields.get(f.name) ?? f.name] ?? '']));
      } else {
        // an auxiliary-feature proposal: the replay sets the space's list itself, so this is a fallback
        answer = {
          rationale: 'the dataset records these fields',
          features: [...fields.keys()].map((name) => ({ name, description: name })),
        };
      }
      const content = JSON.stringify(answer);
      send(res, 200, {
        id: `recorded-${stats.answered + stats.unknown}`,
        object: 'chat.completion',
        created: Math.floor(Date.now() / 1000),
        model,
        choices: [{ index: 0, message: { role: 'assistant', content, refusal: null }, finish_reason: 'stop', logprobs: null }],
        usage: { prompt_tokens: 0, completion_tokens: Math.ceil(content.length / 4), total_tokens: Math.ceil(content.length / 4) },
      });
    })().catch((err: Error) => send(res, 500, { error: { message: err.message } }));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/v1`,
    auxFeatures: [...fields].map(([name, original]) => ({ name, description: `The item's ${original}, as the catalogue recorded it` })),
    stats,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}
