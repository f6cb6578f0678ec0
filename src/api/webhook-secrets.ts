// /v1/spaces/:space/webhook-secrets: the secrets a space's signed webhooks are checked
// against (admin). A secret is in the answer to POST only. Making one keeps the one
// before it in force, so a sender can switch over; older ones are retired.
import crypto from 'node:crypto';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { newWebhookSecret } from '../auth/webhook-signature.js';
import { activeWebhookSecrets, insertWebhookSecret, revokeWebhookSecret } from '../db/webhooks.js';
import { requireSpace } from './deps.js';
import { ErrorBody, notFound } from './errors.js';
import { SpaceParams } from './schemas.js';

/** Secrets in force per space: the newest and the one before it (for a switch-over). */
const IN_FORCE = 2;

export const webhookSecretRoutes: FastifyPluginAsyncTypebox = async (app) => {
  app.post(
    '/v1/spaces/:space/webhook-secrets',
    {
      schema: {
        tags: ['webhooks'],
        summary: 'Make a webhook secret for the space (shown only in this answer; the one before stays in force)',
        params: SpaceParams,
        response: {
          201: Type.Object({ id: Type.String(), secret: Type.String(), createdAt: Type.String() }),
          404: ErrorBody,
        },
      },
    },
    async (req, reply) => {
      const space = await requireSpace(app.deps, req.params.space);
      const id = crypto.randomUUID();
      const secret = newWebhookSecret();
      const createdAt = await insertWebhookSecret(app.deps.db, { id, spaceId: space.id, secret }, IN_FORCE);
      return reply.status(201).send({ id, secret, createdAt });
    },
  );

  app.get(
    '/v1/spaces/:space/webhook-secrets',
    {
      schema: {
        tags: ['webhooks'],
        summary: "The space's webhook secrets in force (never the secrets themselves)",
        params: SpaceParams,
        response: {
          200: Type.Object({ secrets: Type.Array(Type.Object({ id: Type.String(), createdAt: Type.String() })) }),
          404: ErrorBody,
        },
      },
    },
    async (req) => {
      const space = await requireSpace(app.deps, req.params.space);
      const rows = await activeWebhookSecrets(app.deps.db, space.id);
      return { secrets: rows.map((r) => ({ id: r.id, createdAt: r.createdAt })) };
    },
  );

  app.delete(
    '/v1/spaces/:space/webhook-secrets/:id',
    {
      schema: {
        tags: ['webhooks'],
        summary: 'Retire a webhook secret: requests signed with it are refused from now on',
        params: Type.Object({ space: SpaceParams.properties.space, id: Type.String({ maxLength: 64 }) }),
        response: { 204: Type.Null(), 404: ErrorBody },
      },
    },
    async (req, reply) => {
      const space = await requireSpace(app.deps, req.params.space);
      if (!(await revokeWebhookSecret(app.deps.db, space.id, req.params.id))) throw notFound(`webhook secret "${req.params.id}"`);
      return reply.status(204).send(null);
    },
  );
};
