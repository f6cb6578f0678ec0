// /v1/spaces/:space/webhooks: outbound webhooks (admin). A subscription names a URL and the
// events it wants; every delivery is signed with its secret (in the answer to POST only).
// The contract is docs/webhooks.md; the loop that delivers is jobs/deliver-webhooks.ts.
import crypto from 'node:crypto';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { newWebhookSecret } from '../auth/webhook-signature.js';
import {
  deleteSubscription,
  insertSubscription,
  listDeliveries,
  listSubscriptions,
  subscriptionByUrl,
  subscriptionExists,
  type SubscriptionRow,
} from '../db/outbound-webhooks.js';
import { webhookUrlProblem } from '../net/private-address.js';
import { requireSpace } from './deps.js';
import { ApiError, ErrorBody, notFound } from './errors.js';
import { SpaceParams } from './schemas.js';
import { Nullable } from './contract.js';
import { registerWebhookGauges } from './webhook-gauges.js';

/** Subscriptions a space may have: each one multiplies what every embedding write records for it. */
const MAX_PER_SPACE = 25;
const DELIVERY_LOG_MAX = 200;

const WebhookEvent = Type.Union([Type.Literal('embedding.updated'), Type.Literal('model.activated'), Type.Literal('version.promoted')]);
const Events = Type.Array(WebhookEvent, { minItems: 1, maxItems: 3, uniqueItems: true });
const SubscriptionView = Type.Object({
  id: Type.String(),
  url: Type.String(),
  events: Events,
  createdAt: Type.String({ format: 'date-time' }),
});
const WebhookParams = Type.Object({ space: SpaceParams.properties.space, id: Type.String({ minLength: 1, maxLength: 64 }) });
const DeliveryView = Type.Object({
  id: Type.String({ description: 'X-EmerFlow-Delivery: the same on every attempt' }),
  event: WebhookEvent,
  state: Type.Union([Type.Literal('pending'), Type.Literal('delivered'), Type.Literal('failed')]),
  attempts: Type.Integer(),
  items: Nullable(Type.Integer({ description: 'embedding.updated: the items in the batch' })),
  lastStatus: Nullable(Type.Integer({ description: "The receiver's HTTP status on the last attempt" })),
  lastError: Nullable(Type.String({ description: 'No answer on the last attempt: timeout, connection_refused, private_address, …' })),
  createdAt: Type.String({ format: 'date-time' }),
  lastAttemptAt: Nullable(Type.String({ format: 'date-time' })),
  nextAttemptAt: Nullable(Type.String({ format: 'date-time', description: 'Pending: when it is tried next' })),
  deliveredAt: Nullable(Type.String({ format: 'date-time' })),
});

const Created = Type.Object({ ...SubscriptionView.properties, secret: Type.String() });

const view = (s: SubscriptionRow) => ({ id: s.id, url: s.url, events: s.events, createdAt: s.createdAt.toISOString() });
const iso = (d: Date | null) => (d ? d.toISOString() : null);

export const outboundWebhookRoutes: FastifyPluginAsyncTypebox = async (app) => {
  registerWebhookGauges(app.deps.db, app.log);

  app.post(
    '/v1/spaces/:space/webhooks',
    {
      schema: {
        tags: ['webhooks'],
        summary: 'Subscribe a URL to events of the space (the secret is shown only in the answer; 200 if the same exists)',
        description:
          'Deliveries are signed: X-EmerFlow-Signature: t=<unix s>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>. See docs/webhooks.md.',
        params: SpaceParams,
        body: Type.Object(
          {
            url: Type.String({ minLength: 1, maxLength: 2048, description: 'http or https; no credentials in it' }),
            events: Events,
            secret: Type.Optional(
              Type.String({ minLength: 16, maxLength: 256, pattern: '^[\\x21-\\x7e]+$', description: 'Default: one is made' }),
            ),
          },
          { additionalProperties: false },
        ),
        response: {
          201: Created,
          200: Created,
          400: ErrorBody,
          404: ErrorBody,
          409: ErrorBody,
        },
      },
    },
    async (req, reply) => {
      const space = await requireSpace(app.deps, req.params.space);
      const problem = await webhookUrlProblem(req.body.url, app.deps.config.WEBHOOKS_ALLOW_PRIVATE_URLS);
      if (problem) throw new ApiError(400, 'invalid_request', `body.url ${problem}`);
      const url = new URL(req.body.url).href;
      const { events } = req.body;
      const secret = req.body.secret ?? newWebhookSecret();
      const row = await insertSubscription(app.deps.db, { id: crypto.randomUUID(), spaceId: space.id, url, events, secret }, MAX_PER_SPACE);
      if (row) return reply.status(201).send({ ...view(row), secret });
      // Idempotent: the same subscription again (a retry whose answer was lost) is answered
      // with the one made first, its secret included, since that answer may never have arrived.
      const there = await subscriptionByUrl(app.deps.db, space.id, url);
      if (!there) throw new ApiError(409, 'too_many_webhooks', `space "${space.id}" has ${MAX_PER_SPACE} webhooks; delete one first`);
      const sameEvents = [...there.events].sort().join() === [...events].sort().join();
      if (!sameEvents || (req.body.secret !== undefined && req.body.secret !== there.secret))
        throw new ApiError(
          409,
          'webhook_exists',
          `webhook "${there.id}" has this URL with other events or another secret; delete it first`,
        );
      return reply.status(200).send({ ...view(there), secret: there.secret });
    },
  );

  app.get(
    '/v1/spaces/:space/webhooks',
    {
      schema: {
        tags: ['webhooks'],
        summary: "The space's webhook subscriptions (never their secrets)",
        params: SpaceParams,
        response: { 200: Type.Object({ webhooks: Type.Array(SubscriptionView) }), 404: ErrorBody },
      },
    },
    async (req) => {
      const space = await requireSpace(app.deps, req.params.space);
      return { webhooks: (await listSubscriptions(app.deps.db, space.id)).map(view) };
    },
  );

  app.delete(
    '/v1/spaces/:space/webhooks/:id',
    {
      schema: {
        tags: ['webhooks'],
        summary: 'Unsubscribe: nothing more is sent, pending deliveries included (their log goes too)',
        params: WebhookParams,
        response: { 204: Type.Null(), 404: ErrorBody },
      },
    },
    async (req, reply) => {
      const space = await requireSpace(app.deps, req.params.space);
      if (!(await deleteSubscription(app.deps.db, space.id, req.params.id))) throw notFound(`webhook "${req.params.id}"`);
      return reply.status(204).send(null);
    },
  );

  app.get(
    '/v1/spaces/:space/webhooks/:id/deliveries',
    {
      schema: {
        tags: ['webhooks'],
        summary: "A webhook's deliveries, newest first",
        description: `Kept WEBHOOKS_RETENTION_DAYS after they were delivered or given up. At most ${DELIVERY_LOG_MAX} an answer.`,
        params: WebhookParams,
        querystring: Type.Object(
          { limit: Type.Optional(Type.String({ pattern: '^[1-9][0-9]{0,2}$', description: `1–${DELIVERY_LOG_MAX}; default 50` })) },
          { additionalProperties: false },
        ),
        response: { 200: Type.Object({ deliveries: Type.Array(DeliveryView) }), 400: ErrorBody, 404: ErrorBody },
      },
    },
    async (req) => {
      const space = await requireSpace(app.deps, req.params.space);
      const limit = req.query.limit === undefined ? 50 : Number(req.query.limit);
      if (limit > DELIVERY_LOG_MAX) throw new ApiError(400, 'invalid_request', `querystring.limit must be at most ${DELIVERY_LOG_MAX}`);
      if (!(await subscriptionExists(app.deps.db, space.id, req.params.id))) throw notFound(`webhook "${req.params.id}"`);
      const rows = await listDeliveries(app.deps.db, req.params.id, limit);
      return {
        deliveries: rows.map((d) => ({
          id: d.id,
          event: d.event,
          state: d.state,
          attempts: d.attempts,
          items: d.items,
          lastStatus: d.lastStatus,
          lastError: d.lastError,
          createdAt: d.createdAt.toISOString(),
          lastAttemptAt: iso(d.lastAttemptAt),
          nextAttemptAt: d.state === 'pending' ? d.nextAttemptAt.toISOString() : null,
          deliveredAt: d.state === 'delivered' ? iso(d.finishedAt) : null,
        })),
      };
    },
  );
};
