// The HTTP side: the Fastify instance the service is built on (createServer), and what it
// serves as one of two plugins: the API (httpApi, ROLE api|all), or a worker-only process's
// health and metrics (workerHttp, ROLE worker). API routes get their dependencies through
// `app.deps`.
import crypto from 'node:crypto';
import Fastify, { LogController, type FastifyInstance, type FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import type { Config } from './config.js';
import type { Logger } from 'pino';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { AppDeps } from './api/deps.js';
import { installErrorHandlers } from './api/errors.js';
import { authPlugin } from './api/auth.js';
import { loadSheddingPlugin } from './api/load-shedding.js';
import { keyRoutes } from './api/keys.js';
import { webhookSecretRoutes } from './api/webhook-secrets.js';
import { outboundWebhookRoutes } from './api/outbound-webhooks.js';
import { installHttpMetrics } from './api/http-metrics.js';
import { spaceRoutes } from './api/spaces.js';
import { userRoutes } from './api/users.js';
import { itemRoutes } from './api/items.js';
import { interactionRoutes } from './api/interactions.js';
import { embeddingRoutes } from './api/embeddings.js';
import { trainRoutes } from './api/train.js';
import { versionRoutes } from './api/versions.js';
import { qualityRoutes } from './api/quality.js';
import { healthRoutes, type HealthDeps } from './api/health.js';
import { registerTaskGauges } from './api/task-gauges.js';
import type { KeyStore } from './auth/keys.js';
import { uiRoutes } from './ui/routes.js';
import { lazyRequestLogger } from './request-logger.js';
import { LOOKUP_ROUTES } from './api/embeddings.js';
import { jsonBodyParser } from './api/json-body.js';
import { fastLaneServer, lanes, type FastLane } from './api/fast-lane.js';
import { itemFastLane } from './api/item-lane.js';
import { lookupFastLane } from './api/lookup-lane.js';

declare module 'fastify' {
  interface FastifyInstance {
    /** Installs (or with null removes) the lane offered each request before Fastify (api/fast-lane.ts). */
    useFastLane(lane: FastLane | null): void;
  }
}

/** The Fastify instance the service is built on: its HTTP options, and the root every part registers on. */
export function createServer(config: Config, logger: Logger | false): FastifyInstance {
  // The lookups' fast lanes go before Fastify's handler (api/fast-lane.ts); httpApi installs them.
  const lanes = fastLaneServer((err) => {
    if (logger) logger.error({ err }, 'the fast lane failed; the request was answered by Fastify');
  });
  const app = Fastify({
    serverFactory: lanes.factory,
    loggerInstance: logger || undefined,
    logger: logger ? undefined : false,
    // Small by default; the bulk writes set BULK_BODY_LIMIT_BYTES on their routes.
    bodyLimit: config.BODY_LIMIT_BYTES,
    // A slow or stalled sender must not hold a connection (and its buffer) forever.
    requestTimeout: config.REQUEST_TIMEOUT_MS,
    // ids are up to 256 characters, percent-encoded up to 9 bytes each in a path
    routerOptions: { maxParamLength: 2400 },
    requestIdHeader: 'x-request-id',
    genReqId: () => crypto.randomUUID(),
    // req.log is made when a request logs, not for every request (request-logger.ts); with no
    // logger at all Fastify's own silent one stays (the lazy one wraps a pino logger)
    ...(logger ? { childLoggerFactory: lazyRequestLogger } : {}),
    // The lookups' access lines are off unless LOG_LOOKUPS (config.ts); their failures are
    // logged by the error handler (api/errors.ts) whatever this says.
    logController: new LogController({
      disableRequestLogging: config.LOG_LOOKUPS ? false : (req: FastifyRequest) => LOOKUP_ROUTES.has(req.routeOptions?.url ?? ''),
    }),
    ajv: { customOptions: { coerceTypes: false, removeAdditional: false, allErrors: false } },
    // A part may rightly take longer than Fastify's default 10 s to start: the local stores'
    // first start (initdb) on a busy machine, or the database part waiting out a Postgres that is
    // restarting (STARTUP_WAIT_MS). Each part bounds its own wait; this only backs them up.
    pluginTimeout: config.STARTUP_WAIT_MS + 120_000,
  } as never).withTypeProvider<TypeBoxTypeProvider>() as unknown as FastifyInstance;
  app.server.headersTimeout = config.HEADERS_TIMEOUT_MS;
  app.decorate('useFastLane', lanes.use);
  // Closing, Fastify answers 503 (and closes the connection): the lane steps aside first.
  app.addHook('preClose', (done) => {
    lanes.use(null);
    done();
  });
  return app;
}

/** The HTTP API (ROLE api|all): parsers, error shape, load shedding, auth, docs, routes. */
export const httpApi = fp(
  async (app: FastifyInstance, deps: AppDeps) => {
    app.decorate('deps', deps);
    const json = jsonBodyParser(app);
    app.removeContentTypeParser('application/json');
    app.addContentTypeParser('application/json', { parseAs: 'string' }, (req, body, done) => json(req, body as string, done));
    installErrorHandlers(app);
    // First: a saturated process refuses before spending anything on the request.
    await app.register(loadSheddingPlugin, {
      eventLoopDelayMs: deps.config.SHED_EVENT_LOOP_DELAY_MS,
      heapUsedPercent: deps.config.SHED_HEAP_USED_PERCENT,
    });
    await app.register(authPlugin, { keys: deps.keys, db: deps.db });
    installHttpMetrics(app);
    await app.register(swagger, {
      openapi: {
        info: {
          title: 'EmerFlow',
          version: '1',
          description: "Embeddings for emerging items in an existing recommender's embedding space.",
        },
        tags: ['spaces', 'users', 'items', 'interactions', 'embeddings', 'training', 'keys', 'webhooks', 'health'].map((name) => ({
          name,
        })),
        components: {
          securitySchemes: {
            apiKey: { type: 'http', scheme: 'bearer', description: 'An API key: Authorization: Bearer <key>' },
            signature: {
              type: 'apiKey',
              in: 'header',
              name: 'X-EmerFlow-Signature',
              description: 'On the users, items and interactions writes: t=<unix s>,v1=<hex HMAC-SHA256(space secret, "<t>.<body>")>',
            },
          },
        },
        security: [{ apiKey: [] }],
      },
    });
    await app.register(swaggerUi, { routePrefix: '/docs' });
    app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());
    for (const routes of [
      spaceRoutes,
      userRoutes,
      itemRoutes,
      interactionRoutes,
      embeddingRoutes,
      trainRoutes,
      versionRoutes,
      qualityRoutes,
      keyRoutes,
      webhookSecretRoutes,
      outboundWebhookRoutes,
      uiRoutes,
    ])
      await app.register(routes);
    await app.register(healthRoutes, deps);
    registerTaskGauges(deps.db);
    // The lane writes no access lines: with LOG_LOOKUPS every lookup goes through Fastify.
    if (!deps.config.LOG_LOOKUPS) {
      const o = { deps, overloaded: () => app.overloaded(), log: app.log };
      app.useFastLane(lanes(itemFastLane(o), lookupFastLane(o)));
    }
  },
  { name: 'emerflow-http' },
);

/**
 * The HTTP surface of a worker-only process (ROLE=worker): /healthz and /readyz for the
 * container's health check, /metrics for Prometheus (what only workers count: jobs, the LLM,
 * refinement), every other path 404 — with the API's error shape and auth rule (/metrics needs
 * the `metrics` or `admin` scope; the keys in force are the API's, from Postgres).
 * No load shedding: the API never sheds these three routes either, and refusing a health check
 * or a scrape would hide a busy worker rather than relieve it (its load is its jobs, bounded by
 * WORKER_CONCURRENCY, not requests). No request-latency histogram: the dashboard's request
 * panels are the API's, and a worker's only callers are its health check and Prometheus.
 */
export const workerHttp = fp(
  async (app: FastifyInstance, deps: HealthDeps & { keys: KeyStore }) => {
    installErrorHandlers(app);
    await app.register(authPlugin, { keys: deps.keys, db: deps.db });
    await app.register(healthRoutes, deps);
  },
  { name: 'emerflow-worker-http' },
);
