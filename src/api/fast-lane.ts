// The fast lane: the ranking hot path's single-item GET, answered before Fastify when
// everything the answer needs is in this process's memory. On a cached item Fastify's own
// machinery (routing, the request and reply objects, schema checks of params and query, the
// hook chain) costs more than the answer: bench:lookup measured about 90 µs of CPU a request
// through Fastify against 52 for a bare Fastify route serving a Map.
//
// The lane answers only the plain, successful, cached case, and hands every other request to
// Fastify untouched (having written nothing), so refusals, errors, misses, HEAD, odd URLs,
// load shedding and shutdown keep their one implementation. It answers only when all hold:
// - `GET /v1/spaces/<space>/items/<id>/embedding`, with no query or exactly `?version=<n>`,
//   and no percent-encoding (Fastify decodes it; the lane does not try);
// - the Authorization key is valid, has the route's scope and may use the space (auth.ts);
// - the process is neither shedding load (load-shedding.ts) nor closing;
// - the space, its versions and the item's embedding are in memory (embeddings.ts,
//   cachedItemAnswer, which the Fastify route answers with too).
// Its answer is the route's: the same bytes and headers, counted in the request-duration
// histogram under the route's pattern and in the cache's hits. It is not installed when
// LOG_LOOKUPS asks for the lookups' access lines (Fastify writes them). It stands in for the
// route's hooks (shedWhenSaturated, admitByKey, observeDuration): a hook added to the route
// fails test/api/fast-lane.test.ts until the lane is taught it.
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { AppDeps } from './deps.js';
import { ROUTE_SCOPES, keyPrincipals } from './auth.js';
import { allows, mayUseSpace } from '../auth/keys.js';
import { VersionNumber } from './contract.js';
import { cachedItemAnswer, JSON_TYPE } from './embeddings.js';
import { requestTimer } from './http-metrics.js';
import { Counter } from 'prom-client';
import { registry } from '../metrics.js';

/** Answers a request and says true, or says false having written nothing. */
export type FastLane = (req: IncomingMessage, res: ServerResponse) => boolean;

const ROUTE = '/v1/spaces/:space/items/:id/embedding';
const PREFIX = '/v1/spaces/';
const ITEMS = '/items/';
const SUFFIX = '/embedding';
const PIN = '?version=';
// the query's schema, as the route checks it
const VERSION = new RegExp((VersionNumber as { pattern?: string }).pattern ?? '^$');

const FAST_LANE_TOTAL = 'emerflow_http_fast_lane_total';
/** Made with the lane: a worker-only process (which imports this module too) exports none. */
const answeredCounter = (): Counter =>
  (registry.getSingleMetric(FAST_LANE_TOTAL) as Counter | undefined) ??
  new Counter({
    name: FAST_LANE_TOTAL,
    help: 'Single-item embedding GETs answered by the fast lane, before Fastify (the rest of them took the long way).',
    registers: [registry],
  });

export function embeddingFastLane(o: { deps: AppDeps; overloaded: () => unknown }): FastLane {
  const scope = ROUTE_SCOPES[`GET ${ROUTE}`];
  if (scope === undefined || scope === 'open') throw new Error(`the fast lane expects ${ROUTE} to need a scope`);
  const principalOf = keyPrincipals(o.deps.keys);
  const observe = requestTimer(ROUTE, 'GET', 200);
  const answered = answeredCounter();
  return (req, res) => {
    const url = req.url;
    if (req.method !== 'GET' || url === undefined || !url.startsWith(PREFIX) || url.includes('%')) return false;
    const started = performance.now();
    const items = url.indexOf('/', PREFIX.length);
    if (items < 0 || !url.startsWith(ITEMS, items)) return false;
    const suffix = url.indexOf('/', items + ITEMS.length);
    if (suffix < 0 || !url.startsWith(SUFFIX, suffix)) return false;
    const end = suffix + SUFFIX.length;
    let pinned: string | undefined;
    if (url.length !== end) {
      if (!url.startsWith(PIN, end)) return false;
      pinned = url.slice(end + PIN.length);
      if (!VERSION.test(pinned)) return false;
    }
    const header = req.headers.authorization;
    if (header === undefined || o.overloaded() !== null) return false;
    const space = url.slice(PREFIX.length, items);
    const p = principalOf(req.socket, header);
    if (p === null || !allows(p, scope) || !mayUseSpace(p, space)) return false;
    const body = cachedItemAnswer(o.deps, space, url.slice(items + ITEMS.length, suffix), pinned);
    if (body === null) return false;
    res.writeHead(200, { 'content-type': JSON_TYPE, 'content-length': body.length });
    res.end(body);
    answered.inc();
    // Until the answer is handed to the socket (Fastify's figure runs to the response's end)
    observe((performance.now() - started) / 1000);
    return true;
  };
}

/** Fastify's options the HTTP server takes (what Fastify sets on a server it makes itself). */
interface ServerOptions {
  http?: http.ServerOptions;
  keepAliveTimeout: number;
  requestTimeout: number;
  connectionTimeout: number;
  maxRequestsPerSocket: number;
}

/**
 * Fastify's serverFactory: an HTTP server that offers each request to the lane in force
 * (none until `use` installs one) before Fastify's handler. It sets the timeouts Fastify
 * sets on a server of its own.
 */
export function fastLaneServer(onError: (err: unknown) => void): {
  factory: (handler: http.RequestListener, opts: ServerOptions) => http.Server;
  use: (lane: FastLane | null) => void;
} {
  let lane: FastLane | null = null;
  return {
    factory: (handler, opts) => {
      const server = http.createServer(opts.http ?? {}, (req, res) => {
        try {
          if (lane !== null && lane(req, res)) return;
        } catch (err) {
          // A fault of the lane's own: reported, and the request goes the long way (or, if
          // the lane had begun to answer, its connection is closed).
          onError(err);
          if (res.headersSent) return void res.destroy();
        }
        handler(req, res);
      });
      server.keepAliveTimeout = opts.keepAliveTimeout;
      server.requestTimeout = opts.requestTimeout;
      server.setTimeout(opts.connectionTimeout);
      if (opts.maxRequestsPerSocket > 0) server.maxRequestsPerSocket = opts.maxRequestsPerSocket;
      return server;
    },
    use: (l) => {
      lane = l;
    },
  };
}
