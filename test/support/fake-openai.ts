// A real local HTTP server that speaks enough of the OpenAI protocol for tests:
// POST /v1/chat/completions (with `response_format: json_schema`), POST
// /v1/embeddings and GET /v1/models. Point the real `openai` client (or the
// service, via LLM_BASE_URL) at `fake.url`.
//
//   const fake = await startFakeOpenAI({ dim: 8 });
//   fake.script('chat', [{ kind: 'status', code: 429, headers: { 'retry-after': '1' } }, { kind: 'ok' }]);
//   ... run code against fake.url ...
//   fake.requests            // every request: method, path, headers (no authorization), parsed body
//   await fake.close();      // also ends hung requests
//
// Each endpoint has a queue of scripted behaviours consumed one per request;
// when it is empty the endpoint's fallback applies (`ok` unless set with
// `fake.fallback`). Behaviours:
//   { kind: 'ok' }                      chat: JSON filling every required property of the json_schema with
//                                       deterministic strings derived from the last user message; plain text
//                                       without a schema. embeddings: deterministic hashed unit vectors of `dim`.
//   { kind: 'status', code, headers?, body? }   that status; body defaults to an OpenAI-style error object.
//   { kind: 'hang' }                    never answers (until close()); for timeouts.
//   { kind: 'stall' }                   sends 200 headers and half a body, then nothing (a body-read timeout).
//   { kind: 'raw', text }               chat: `text` as the message content (invalid or schema-violating JSON);
//                                       embeddings/models: `text` as the whole HTTP body (200, application/json).
//   { kind: 'json', value }             chat: JSON.stringify(value) as the message content.
//   { kind: 'dim', n }                  embeddings of dimension n instead of `dim`.
//   { kind: 'refusal', text? }          chat: a refusal message (content null).
//   { kind: 'truncated' }               chat: finish_reason "length" with half a JSON answer.
// Any behaviour may carry `delayMs`: the answer is sent that much later.
import { createHash } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { readBody } from '../../src/net/read-body.js';

export type Endpoint = 'chat' | 'embeddings' | 'models';

export type Behaviour = { delayMs?: number } & (
  | { kind: 'ok' }
  | { kind: 'status'; code: number; headers?: Record<string, string>; body?: unknown }
  | { kind: 'hang' }
  | { kind: 'stall' }
  | { kind: 'raw'; text: string }
  | { kind: 'json'; value: unknown }
  | { kind: 'dim'; n: number }
  | { kind: 'refusal'; text?: string }
  | { kind: 'truncated' }
);

export interface RecordedRequest {
  method: string;
  path: string;
  /** Lower-cased header names; `authorization` is removed (see `authorization`). */
  headers: Record<string, string>;
  /** Whether an Authorization header came with the request, and its scheme only. */
  authorization: 'bearer' | 'other' | 'none';
  body: any;
  endpoint: Endpoint | 'unknown';
  /** The behaviour that answered it. */
  behaviour: Behaviour['kind'] | 'not_found';
  at: number;
}

export interface FakeOpenAI {
  /** Base URL including /v1, e.g. http://127.0.0.1:40123/v1 */
  readonly url: string;
  readonly requests: RecordedRequest[];
  /** Requests to one endpoint, in order. */
  requestsTo(endpoint: Endpoint): RecordedRequest[];
  /** Appends behaviours to the endpoint's queue. */
  script(endpoint: Endpoint, behaviours: Behaviour[]): void;
  /** What the endpoint does once its queue is empty (default `ok`). */
  fallback(endpoint: Endpoint, behaviour: Behaviour): void;
  /** Clears recorded requests, queues and fallbacks. */
  reset(): void;
  close(): Promise<void>;
}

export interface FakeOpenAIOptions {
  /** Dimension of `ok` embeddings (default 8). */
  dim?: number;
  /** Model ids listed by GET /v1/models. */
  models?: string[];
}

export async function startFakeOpenAI(options: FakeOpenAIOptions = {}): Promise<FakeOpenAI> {
  const dim = options.dim ?? 8;
  const queues: Record<Endpoint, Behaviour[]> = { chat: [], embeddings: [], models: [] };
  const fallbacks: Record<Endpoint, Behaviour> = { chat: { kind: 'ok' }, embeddings: { kind: 'ok' }, models: { kind: 'ok' } };
  const requests: RecordedRequest[] = [];
  const hung = new Set<ServerResponse>();
  const timers = new Set<NodeJS.Timeout>();

  const server = createServer((req, res) => {
    void handle(req, res).catch((err) => {
      if (!res.headersSent) send(res, 500, { error: { message: String(err), type: 'server_error' } });
    });
  });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const raw = await readBody(req);
    const path = (req.url ?? '/').split('?')[0]!;
    const endpoint: Endpoint | 'unknown' =
      req.method === 'POST' && path === '/v1/chat/completions'
        ? 'chat'
        : req.method === 'POST' && path === '/v1/embeddings'
          ? 'embeddings'
          : req.method === 'GET' && path === '/v1/models'
            ? 'models'
            : 'unknown';
    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries(req.headers))
      if (k !== 'authorization' && v !== undefined) headers[k] = Array.isArray(v) ? v.join(', ') : v;
    const auth = req.headers.authorization;
    let body: any = raw;
    try {
      body = raw ? JSON.parse(raw) : undefined;
    } catch {
      /* keep the raw text */
    }
    const b: Behaviour | undefined = endpoint === 'unknown' ? undefined : (queues[endpoint].shift() ?? fallbacks[endpoint]);
    requests.push({
      method: req.method ?? '',
      path,
      headers,
      authorization: !auth ? 'none' : /^bearer /i.test(auth) ? 'bearer' : 'other',
      body,
      endpoint,
      behaviour: b?.kind ?? 'not_found',
      at: Date.now(),
    });
    if (!b) return send(res, 404, { error: { message: `no route ${req.method} ${path}`, type: 'invalid_request_error' } });
    if (b.delayMs) {
      await new Promise<void>((resolve) => {
        const t = setTimeout(() => {
          timers.delete(t);
          resolve();
        }, b.delayMs);
        timers.add(t);
      });
    }
    answer(endpoint as Endpoint, b, body, res);
  }

  function answer(endpoint: Endpoint, b: Behaviour, body: any, res: ServerResponse): void {
    switch (b.kind) {
      case 'hang':
        hung.add(res);
        res.on('close', () => hung.delete(res));
        return;
      case 'stall':
        hung.add(res);
        res.on('close', () => hung.delete(res));
        res.writeHead(200, { 'content-type': 'application/json' });
        res.write('{"id":"chatcmpl-stalled","choices":[');
        return;
      case 'status':
        return send(
          res,
          b.code,
          b.body ?? {
            error: { message: `fake status ${b.code}`, type: b.code >= 500 ? 'server_error' : 'invalid_request_error', code: null },
          },
          b.headers,
        );
      default:
        if (endpoint === 'chat') return send(res, 200, chatAnswer(b, body));
        if (endpoint === 'embeddings') {
          if (b.kind === 'raw') return sendText(res, 200, b.text);
          return send(res, 200, embeddingsAnswer(body, b.kind === 'dim' ? b.n : dim));
        }
        if (b.kind === 'raw') return sendText(res, 200, b.text);
        return send(res, 200, {
          object: 'list',
          data: (options.models ?? ['fake-chat', 'fake-embed']).map((id) => ({ id, object: 'model', created: 0, owned_by: 'fake' })),
        });
    }
  }

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://127.0.0.1:${port}/v1`,
    requests,
    requestsTo: (endpoint) => requests.filter((r) => r.endpoint === endpoint),
    script: (endpoint, behaviours) => void queues[endpoint].push(...behaviours),
    fallback: (endpoint, behaviour) => void (fallbacks[endpoint] = behaviour),
    reset() {
      requests.length = 0;
      for (const e of Object.keys(queues) as Endpoint[]) {
        queues[e].length = 0;
        fallbacks[e] = { kind: 'ok' };
      }
    },
    async close() {
      for (const t of timers) clearTimeout(t);
      for (const res of hung) res.destroy();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

function send(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  sendText(res, status, JSON.stringify(body), headers);
}

function sendText(res: ServerResponse, status: number, text: string, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': 'application/json', ...headers });
  res.end(text);
}

const hash = (s: string): string => createHash('sha256').update(s).digest('hex');

function lastUserContent(body: any): string {
  const msgs: any[] = Array.isArray(body?.messages) ? body.messages : [];
  const user = [...msgs].reverse().find((m) => m?.role === 'user');
  return typeof user?.content === 'string' ? user.content : JSON.stringify(user?.content ?? '');
}

/** Fills a JSON schema: strings become "<path> <hash8>", arrays get two items. */
export function fillSchema(schema: any, seed: string, path = 'value'): unknown {
  switch (schema?.type) {
    case 'object': {
      const out: Record<string, unknown> = {};
      const props = schema.properties ?? {};
      const keys: string[] = Array.isArray(schema.required) ? schema.required : Object.keys(props);
      for (const k of keys) out[k] = fillSchema(props[k], seed, path === 'value' ? k : `${path}.${k}`);
      return out;
    }
    case 'array':
      return [0, 1].map((i) => fillSchema(schema.items, seed, `${path}.${i}`));
    case 'number':
    case 'integer':
      return parseInt(hash(seed + path).slice(0, 6), 16) % 100;
    case 'boolean':
      return parseInt(hash(seed + path).slice(0, 2), 16) % 2 === 0;
    default:
      return `${path} ${hash(seed + path).slice(0, 8)}`;
  }
}

function chatAnswer(b: Behaviour, body: any): unknown {
  const user = lastUserContent(body);
  const schema = body?.response_format?.type === 'json_schema' ? body.response_format.json_schema?.schema : undefined;
  let content: string | null;
  let refusal: string | null = null;
  let finish = 'stop';
  switch (b.kind) {
    case 'raw':
      content = b.text;
      break;
    case 'json':
      content = JSON.stringify(b.value);
      break;
    case 'refusal':
      content = null;
      refusal = b.text ?? "I'm sorry, I can't help with that.";
      break;
    case 'truncated': {
      const full = JSON.stringify(schema ? fillSchema(schema, user) : { text: 'x'.repeat(40) });
      content = full.slice(0, Math.floor(full.length / 2));
      finish = 'length';
      break;
    }
    default:
      content = schema ? JSON.stringify(fillSchema(schema, user)) : `fake answer ${hash(user).slice(0, 8)}`;
  }
  const promptChars = JSON.stringify(body?.messages ?? []).length;
  return {
    id: `chatcmpl-${hash(user + Date.now()).slice(0, 12)}`,
    object: 'chat.completion',
    created: Math.floor(Date.now() / 1000),
    model: body?.model ?? 'fake',
    choices: [{ index: 0, message: { role: 'assistant', content, refusal }, finish_reason: finish, logprobs: null }],
    usage: { prompt_tokens: Math.ceil(promptChars / 4), completion_tokens: Math.ceil((content ?? '').length / 4), total_tokens: 0 },
  };
}

/** A deterministic unit vector per text, from sha-256 blocks. */
export function fakeVector(text: string, dim: number): number[] {
  const v: number[] = [];
  for (let block = 0; v.length < dim; block++) {
    const h = createHash('sha256').update(`${block}:${text}`).digest();
    for (let i = 0; i + 1 < h.length && v.length < dim; i += 2) v.push(h.readUInt16LE(i) / 32767.5 - 1);
  }
  const norm = Math.hypot(...v) || 1;
  return v.map((x) => x / norm);
}

function embeddingsAnswer(body: any, dim: number): unknown {
  const inputs: string[] = Array.isArray(body?.input) ? body.input.map(String) : [String(body?.input ?? '')];
  const base64 = body?.encoding_format === 'base64';
  return {
    object: 'list',
    model: body?.model ?? 'fake',
    data: inputs.map((t, index) => {
      const v = fakeVector(t, dim);
      return { object: 'embedding', index, embedding: base64 ? Buffer.from(new Float32Array(v).buffer).toString('base64') : v };
    }),
    usage: { prompt_tokens: inputs.reduce((n, t) => n + Math.ceil(t.length / 4), 0), total_tokens: 0 },
  };
}
