// What the fast-lane tests share: requests over a real socket (`inject` never reaches the
// HTTP server, where the lanes are) and the lanes' answer count.
import assert from 'node:assert/strict';
import http from 'node:http';
import type { FastifyInstance } from 'fastify';

export interface Got {
  status: number;
  headers: Record<string, string>;
  body: Buffer;
}

export interface Ask {
  method?: string;
  key: string | null;
  headers?: Record<string, string>;
  body?: string | Buffer;
  /** sent in two pieces, without a Content-Length (chunked) */
  chunked?: boolean;
  /** the connection's agent (default: a fresh connection, closed after the answer) */
  agent?: http.Agent;
}

/** One request (on a fresh connection unless `ask.agent` keeps one); the answer's headers without the ones that name the moment. */
export function request(base: string, path: string, ask: Ask): Promise<Got> {
  return new Promise((resolve, reject) => {
    const { hostname, port } = new URL(base);
    const headers: Record<string, string | number> = {
      ...(ask.key === null ? {} : { authorization: `Bearer ${ask.key}` }),
      ...ask.headers,
    };
    if (ask.body !== undefined && !ask.chunked) headers['content-length'] = Buffer.byteLength(ask.body);
    // the path as written (a URL would drop an empty query)
    const req = http.request({ hostname, port, path, method: ask.method ?? 'GET', agent: ask.agent ?? false, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const got: Record<string, string> = {};
        for (let i = 0; i < res.rawHeaders.length; i += 2)
          if (res.rawHeaders[i]!.toLowerCase() !== 'date') got[res.rawHeaders[i]!.toLowerCase()] = res.rawHeaders[i + 1]!;
        resolve({ status: res.statusCode!, headers: got, body: Buffer.concat(chunks) });
      });
    });
    req.on('error', reject);
    if (ask.body !== undefined && ask.chunked) {
      const b = Buffer.from(ask.body);
      req.write(b.subarray(0, b.length >> 1));
      req.end(b.subarray(b.length >> 1));
    } else req.end(ask.body);
  });
}

export const ITEM_ROUTE = '/v1/spaces/:space/items/:id/embedding';
export const LOOKUP_ROUTE = '/v1/spaces/:space/embeddings/lookup';

/** How many requests of `route` a fast lane has answered (emerflow_http_fast_lane_total). */
export async function laneCount(app: FastifyInstance, route = ITEM_ROUTE): Promise<number> {
  const text = (await app.inject({ method: 'GET', url: '/metrics' })).body;
  const line = text.split('\n').find((l) => l.startsWith(`emerflow_http_fast_lane_total{route="${route}"} `));
  return line ? Number(line.slice(line.lastIndexOf(' ') + 1)) : 0;
}

export async function makeKey(app: FastifyInstance, body: { scopes: string[]; spaces?: string[] }): Promise<string> {
  const r = await app.inject({ method: 'POST', url: '/v1/keys', payload: body });
  assert.equal(r.statusCode, 201, r.body);
  return r.json<{ key: string }>().key;
}

/** That the request-duration histogram counted a 2xx answer of `route` (a lane's answers count as the route's). */
export async function assertDurationCounted(app: FastifyInstance, method: string, route: string): Promise<void> {
  const text = (await app.inject({ method: 'GET', url: '/metrics' })).body;
  const line = `emerflow_http_request_duration_seconds_count{route="${route}",method="${method}",status="2xx"} `;
  const found = text.split('\n').find((l) => l.startsWith(line));
  assert.ok(found !== undefined && Number(found.slice(line.length)) > 0, `${method} ${route} counted in the duration histogram`);
}
