// A webhook receiver for the outbound-webhook tests (a real HTTP server on 127.0.0.1), the
// check a receiver makes of a delivery's signature, and the subscription calls they share.
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { post } from './space.js';

export interface Hit {
  event: string;
  deliveryId: string;
  signature: string;
  contentType: string;
  raw: string;
  body: { type: string; space: string; spaceVersion: number; deliveryId: string; createdAt: string; data: any };
  /** what the receiver answered */
  status: number;
}

/** A webhook receiver: records every request and answers what `answer` says. */
export class Receiver {
  hits: Hit[] = [];
  /** null: never answer (the request is left hanging until the server stops) */
  answer: () => { status: number; headers?: Record<string, string> } | null = () => ({ status: 200 });
  private server: http.Server | null = null;
  port = 0;

  async start(): Promise<this> {
    const server = http.createServer((req, res) => {
      let raw = '';
      req.setEncoding('utf8');
      req.on('data', (c: string) => (raw += c));
      req.on('end', () => {
        const a = this.answer();
        this.hits.push({
          event: String(req.headers['x-emerflow-event']),
          deliveryId: String(req.headers['x-emerflow-delivery']),
          signature: String(req.headers['x-emerflow-signature']),
          contentType: String(req.headers['content-type']),
          raw,
          body: JSON.parse(raw),
          status: a?.status ?? 0,
        });
        if (a) res.writeHead(a.status, a.headers).end();
      });
    });
    // the same port when it comes back: the subscription's URL names it
    await new Promise<void>((resolve) => server.listen(this.port, '127.0.0.1', resolve));
    this.port = (server.address() as AddressInfo).port;
    this.server = server;
    return this;
  }

  async stop(): Promise<void> {
    const s = this.server;
    this.server = null;
    if (!s) return;
    s.closeAllConnections();
    await new Promise((resolve) => s.close(resolve));
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}/hook`;
  }

  /** The requests it answered with a 2xx. */
  delivered(event?: string): Hit[] {
    return this.hits.filter((h) => h.status >= 200 && h.status < 300 && (event === undefined || h.event === event));
  }

  /** Items of the embedding.updated deliveries it accepted: id → kinds seen. */
  items(): Map<string, Set<string>> {
    const m = new Map<string, Set<string>>();
    for (const h of this.delivered('embedding.updated'))
      for (const i of h.body.data.items as { id: string; kind: string }[]) m.set(i.id, (m.get(i.id) ?? new Set()).add(i.kind));
    return m;
  }
}

/** Checks a delivery's signature as a receiver would: HMAC-SHA256(secret, "<t>.<raw body>"), t recent. */
export function assertSigned(h: Hit, secret: string): void {
  const m = /^t=(\d+),v1=([0-9a-f]{64})$/.exec(h.signature);
  assert.ok(m, `signature header ${h.signature}`);
  const want = crypto.createHmac('sha256', secret).update(`${m[1]}.${h.raw}`).digest('hex');
  assert.ok(crypto.timingSafeEqual(Buffer.from(want, 'hex'), Buffer.from(m[2]!, 'hex')), 'the signature verifies with the secret');
  assert.ok(Math.abs(Date.now() / 1000 - Number(m[1])) < 300, 'the signature is fresh');
  assert.equal(h.contentType, 'application/json');
  assert.equal(h.deliveryId, h.body.deliveryId);
  assert.equal(h.event, h.body.type);
}

export interface DeliveryLog {
  id: string;
  event: string;
  state: 'pending' | 'delivered' | 'failed';
  attempts: number;
  items: number | null;
  lastStatus: number | null;
  lastError: string | null;
  nextAttemptAt: string | null;
  deliveredAt: string | null;
}

export const deliveries = async (app: FastifyInstance, space: string, id: string, limit = 200): Promise<DeliveryLog[]> => {
  const r = await app.inject({ method: 'GET', url: `/v1/spaces/${space}/webhooks/${id}/deliveries?limit=${limit}` });
  assert.equal(r.statusCode, 200, r.body);
  return r.json().deliveries;
};

export async function subscribe(app: FastifyInstance, space: string, body: object): Promise<{ id: string; secret: string }> {
  const r = await post(app, `/v1/spaces/${space}/webhooks`, body);
  assert.equal(r.statusCode, 201, r.body);
  return r.json();
}

export async function refused(app: FastifyInstance, body: object, status: number, message: RegExp): Promise<void> {
  const r = await post(app, '/v1/spaces/movies/webhooks', body);
  assert.equal(r.statusCode, status, r.body);
  assert.match(r.json().message, message);
}
