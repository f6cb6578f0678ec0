// The HTTP app as a plugin-built Fastify instance; server.ts and the tests build the
import crypto from 'node:crypto';
// same thing. Routes get their dependencies through `app.deps`.
import Fastify, { type FastifyInstance } from 'fastify';
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
import { SIGNATURE_HEADER } from './auth/webhook-signature.js';
import { installHttpMetrics } from './api/http-metrics.js';
import { spaceRoutes } from './api/spaces.js';
import { userRoutes } from './api/users.js';
import { itemRoutes } from './api/items.js';
import { interactionRoutes } from './api/interactions.js';
import { embeddingRoutes } from './api/embeddings.js';
import { trainRoutes } from './api/train.js';
import { healthRoutes } from './api/health.js';

export async function buildApp(deps: AppDeps, logger: Logger | false): Promise<FastifyInstance> {
  const app = Fastify({
    loggerInstance: logger || undefined,
    logger: logger ? undefined : false,
    // Small by default; the bulk writes set BULK_BODY_LIMIT_BYTES on their routes.
    bodyLimit: deps.config.BODY_LIMIT_BYTES,
    // A slow or stalled sender must not hold a connection (and its buffer) forever.
    requestTimeout: deps.config.REQUEST_TIMEOUT_MS,
    // ids are up to 256 characters, percent-encoded up to 9 bytes each in a path
    routerOptions: { maxParamLength: 2400 },
    requestIdHeader: 'x-request-id',
    genReqId: () => crypto.randomUUID(),
    ajv: { customOptions: { coerceTypes: false, removeAdditional: false, allErrors: false } },
  } as never).withTypeProvider<TypeBoxTypeProvider>() as unknown as FastifyInstance;
  app.decorate('deps', deps);
  app.server.headersTimeout = deps.config.HEADERS_TIMEOUT_MS;
  // An empty JSON body (e.g. `POST /train` from curl) reads as no body; anything else
  // goes through Fastify's own parser, with its prototype-poisoning protection.
  const json = app.getDefaultJsonParser('error', 'ignore');
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (req, body, done) => {
    if (req.headers[SIGNATURE_HEADER] !== undefined) req.rawBody = body as string;
    if (body === '') done(null, undefined);
    else json(req, body as string, done);
  });
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
      info: { title: 'EmerFlow', version: '1', description: "Embeddings for emerging items in an existing recommender's embedding space." },
      tags: ['spaces', 'users', 'items', 'interactions', 'embeddings', 'training', 'keys', 'webhooks', 'health'].map((name) => ({ name })),
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
    keyRoutes,
    webhookSecretRoutes,
    healthRoutes,
  ])
    await app.register(routes);
  return app;
}
