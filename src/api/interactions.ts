// POST /v1/spaces/:space/interactions: event pipelines push user-item events here.
// The event id is the idempotency key; each emerging item touched gets one refine
// task (coalesced however many events it received).
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { recordEvents } from '../pipeline/record-events.js';
import { ApiError } from './errors.js';
import { ErrorBody, EventsAnswer, EventsBody } from './contract.js';
import { LIMITS, SpaceParams } from './schemas.js';
import { requireSpace } from './deps.js';

export const interactionRoutes: FastifyPluginAsyncTypebox = async (app) => {
  app.post(
    '/v1/spaces/:space/interactions',
    {
      // a bulk route: the larger body limit (every other route has BODY_LIMIT_BYTES)
      bodyLimit: app.deps.config.BULK_BODY_LIMIT_BYTES,
      schema: {
        tags: ['interactions'],
        summary: `Add interaction events (up to ${LIMITS.events} a request); an event id seen before is a duplicate`,
        params: SpaceParams,
        body: EventsBody,
        response: {
          202: EventsAnswer,
          400: ErrorBody,
          404: ErrorBody,
          413: ErrorBody,
        },
      },
    },
    async (req, reply) => {
      const space = await requireSpace(app.deps, req.params.space);
      const { events } = req.body;
      const now = new Date();
      const parsed = events.map((e, i) => {
        const ts = e.ts === undefined ? now : new Date(e.ts);
        if (Number.isNaN(ts.getTime())) throw new ApiError(400, 'invalid_request', `events[${i}].ts is not a valid date-time`);
        return { id: e.id, userId: e.userId, itemId: e.itemId, label: e.label, ts };
      });
      return reply.status(202).send(
        await recordEvents(
          app.deps.db,
          space.id,
          parsed,
          { requestId: req.id },
          {
            quality: app.deps.config.QUALITY_MONITOR,
            qualitySamplePercent: app.deps.config.QUALITY_SAMPLE_PERCENT,
          },
        ),
      );
    },
  );
};
