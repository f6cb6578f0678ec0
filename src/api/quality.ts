// GET /v1/spaces/:space/quality: the live quality monitor. Every event of an emerging item is
// scored with the embedding the service was serving for it when the event arrived (before
// the event could refine it: prequential), and with its cold embedding as a reference; here
// they are aggregated over a window, by how many interactions the item had before the event.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { type Static } from 'typebox';
import { aucFromRanks, bucketAggregates, pendingCount, QUALITY_BUCKETS, type BucketAggregate } from '../db/quality.js';
import { ApiError } from './errors.js';
import { ErrorBody, QualityQuery, QualityView } from './contract.js';
import { SpaceParams } from './schemas.js';
import { resolveVersion } from './space-version.js';
import { registerQualityGauges } from './quality-gauges.js';

/** Every bucket in order, empty ones included, from the SQL aggregates of one space. */
export function bucketViews(rows: BucketAggregate[]): Static<typeof QualityView>['buckets'] {
  return QUALITY_BUCKETS.map((bucket, i) => {
    const r = rows.find((x) => x.bucket === i);
    if (!r) return { bucket, events: 0, positives: 0, auc: null, logLoss: null, coldAuc: null, coldLogLoss: null };
    return {
      bucket,
      events: r.events,
      positives: r.positives,
      auc: aucFromRanks(r.events, r.positives, r.rankSum),
      logLoss: r.logLoss,
      coldAuc: aucFromRanks(r.coldEvents, r.coldPositives, r.coldRankSum),
      coldLogLoss: r.coldLogLoss,
    };
  });
}

export const qualityRoutes: FastifyPluginAsyncTypebox = async (app) => {
  registerQualityGauges(app.deps.db, app.deps.config.QUALITY_METRICS_WINDOW_S, app.log);
  app.get(
    '/v1/spaces/:space/quality',
    {
      schema: {
        tags: ['quality'],
        summary: 'Live quality of the served embeddings of emerging items, by interactions before the event',
        description:
          'Prequential: each event is scored with the embedding served when it arrived, before it could be used. ' +
          'Buckets: cold (0 interactions before), 1-20, 21-40, 41-60, 61+. Default window: QUALITY_WINDOW_S back from now.',
        params: SpaceParams,
        querystring: QualityQuery,
        response: { 200: QualityView, 400: ErrorBody, 404: ErrorBody },
      },
    },
    async (req) => {
      const { space, version } = await resolveVersion(app.deps, req.params.space, req.query.version);
      const until = new Date();
      const since =
        req.query.since === undefined ? new Date(until.getTime() - app.deps.config.QUALITY_WINDOW_S * 1000) : new Date(req.query.since);
      if (Number.isNaN(since.getTime())) throw new ApiError(400, 'invalid_request', 'since is not a valid date-time');
      const [rows, pending] = await Promise.all([
        bucketAggregates(app.deps.db, [version.physicalId], since),
        pendingCount(app.deps.db, version.physicalId),
      ]);
      return {
        space: space.id,
        spaceVersion: version.version,
        since: since.toISOString(),
        until: until.toISOString(),
        pending,
        buckets: bucketViews(rows),
      };
    },
  );
};
