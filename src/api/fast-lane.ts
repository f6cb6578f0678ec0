// The fast lanes: the ranking hot path's lookups, answered before Fastify when everything the
// answer needs is in this process's memory. On a cached item Fastify's own machinery (routing,
// the request and reply objects, body parsing, schema checks, the hook chain) costs more than
// the answer: bench:lookup measured about 90 µs of CPU a single-item GET through Fastify
// against 52 for a bare Fastify route serving a Map.
//
// A lane answers only the plain, successful, cached case, and hands every other request to
// Fastify, so refusals, errors, misses, HEAD, odd URLs, load shedding and shutdown keep their
// one implementation. Each lane answers only when all hold:
// - its route's path, with no query or exactly `?version=<n>`, and no percent-encoding
//   (Fastify decodes it; a lane does not try);
// - the Authorization key is valid, has the route's scope and may use the space (auth.ts);
// - the process is neither shedding load (load-shedding.ts) nor closing;
// - what the answer needs is in memory.
// Its answer is the route's: the same bytes and headers, counted in the request-duration
// histogram under the route's pattern and in the cache's hits. Lanes are not installed when
// LOG_LOOKUPS asks for the lookups' access lines (Fastify writes them). A lane stands in for
// its route's hooks (shedWhenSaturated, admitByKey, observeDuration): a hook added to the
// route fails test/api/fast-lane.test.ts until the lane is taught it.
//
// The lanes: item-lane.ts (the single-item GET) and lookup-lane.ts (the batch lookup, which
// reads the body first and hands on what it cannot answer with the body it read).
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import { Readable } from 'node:stream';
import type { FastifyBaseLogger, FastifyReply, FastifyRequest, preParsingHookHandler } from 'fastify';
import { Counter } from 'prom-client';
import type { Principal } from '../auth/keys.js';
import { allows, mayUseSpace } from '../auth/keys.js';
import { ROUTE_SCOPES, keyPrincipals } from './auth.js';
import { VersionNumber } from './contract.js';
import type { AppDeps } from './deps.js';
import { registry } from '../metrics.js';

/**
 * Answers a request and says true, or says false having read and written nothing. A lane
 * that reads the body says true once it has begun to: what it then cannot answer it hands on
 * to `fastify` with `handOn`, body and all.
 */
export type FastLane = (req: IncomingMessage, res: ServerResponse, fastify: http.RequestListener) => boolean;

export interface LaneOptions {
  deps: AppDeps;
  /** why the process sheds load now, or null (load-shedding.ts) */
  overloaded: () => unknown;
  /** where a lane reports what happens after it took a request (the server reports the rest) */
  log: Pick<FastifyBaseLogger, 'debug' | 'error'>;
}

/** The lanes in turn: the first to take a request answers it. */
export function lanes(...ls: FastLane[]): FastLane {
  return (req, res, fastify) => {
    for (const l of ls) if (l(req, res, fastify)) return true;
    return false;
  };
}

export const SPACES_PREFIX = '/v1/spaces/';
const PIN = '?version=';
// the query's schema, as the routes check it
const VERSION = new RegExp((VersionNumber as { pattern?: string }).pattern ?? '^$');

/** The `?version=<n>` that may end a lane's path at `end`: undefined (none), the pin, or null (any other query). */
export function pinnedVersion(url: string, end: number): string | undefined | null {
  if (url.length === end) return undefined;
  if (!url.startsWith(PIN, end)) return null;
  const pinned = url.slice(end + PIN.length);
  return VERSION.test(pinned) ? pinned : null;
}

/**
 * The route's admission as its onRequest hooks would give it, for a lane: a check of a
 * request's key and the process's load that says whether the lane may answer (false: the
 * route's hooks give the refusal).
 */
export function laneAdmission(o: LaneOptions, method: string, route: string): (req: IncomingMessage, space: string) => boolean {
  const scope = ROUTE_SCOPES[`${method} ${route}`];
  if (scope === undefined || scope === 'open') throw new Error(`the fast lane expects ${method} ${route} to need a scope`);
  const principalOf = keyPrincipals(o.deps.keys);
  return (req, space) => {
    const header = req.headers.authorization;
    if (header === undefined || o.overloaded() !== null) return false;
    const p: Principal | null = principalOf(req.socket, header);
    return p !== null && allows(p, scope) && mayUseSpace(p, space);
  };
}

const FAST_LANE_TOTAL = 'emerflow_http_fast_lane_total';
/** A route's count of lane answers; made with the lane: a worker-only process (which imports this module too) exports none. */
export function laneAnswers(route: string): { inc: () => void } {
  const counter =
    (registry.getSingleMetric(FAST_LANE_TOTAL) as Counter<'route'> | undefined) ??
    new Counter({
      name: FAST_LANE_TOTAL,
      help: 'Lookups answered by a fast lane, before Fastify, by route (the rest of them took the long way).',
      labelNames: ['route'],
      registers: [registry],
    });
  return counter.labels({ route });
}

/** The body a lane read, for Fastify to read instead of the (spent) request stream. */
const READ_BODY = Symbol('emerflow.laneReadBody');
type ReadRequest = IncomingMessage & { [READ_BODY]?: Buffer };

/** Gives Fastify a request whose body a lane has read (the route's replayReadBody hook gives it back). */
export function handOn(req: IncomingMessage, res: ServerResponse, body: Buffer, fastify: http.RequestListener): void {
  (req as ReadRequest)[READ_BODY] = body;
  fastify(req, res);
}

/**
 * preParsing, on a route whose lane reads the body: the body the lane read, as the payload
 * Fastify parses. Its own checks (the body limit, the length against content-length) run on
 * it as on any body.
 */
export function replayReadBody(
  req: FastifyRequest,
  _reply: FastifyReply,
  payload: Parameters<preParsingHookHandler>[2],
  done: Parameters<preParsingHookHandler>[3],
): void {
  const raw = req.raw as ReadRequest;
  const body = raw[READ_BODY];
  if (body === undefined) return done(null, payload);
  delete raw[READ_BODY];
  done(null, Readable.from([body], { objectMode: false }));
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
          if (lane !== null && lane(req, res, handler)) return;
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
