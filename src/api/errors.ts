// One error shape for every route: { error: <code>, message: <what is wrong, naming
// the field> }. 4xx say what to fix; 5xx never leak internals.
import type { FastifyError, FastifyInstance } from 'fastify';
import { isTransientDbError, sqlState } from '../db/errors.js';
import { describeIssues } from './validation-message.js';

// declared with the rest of the wire contract (the client's error type comes from it)
export { ErrorBody } from './contract.js';

export class ApiError extends Error {
  constructor(
    readonly statusCode: number,
    readonly code: string,
    message: string,
    readonly extra: Record<string, unknown> = {},
  ) {
    super(message);
  }
}

export const notFound = (what: string) => new ApiError(404, 'not_found', `${what} not found`);

export function installErrorHandlers(app: FastifyInstance): void {
  app.setErrorHandler((err: FastifyError | ApiError, req, reply) => {
    if (err instanceof ApiError) return reply.status(err.statusCode).send({ error: err.code, message: err.message, ...err.extra });
    const fe = err as FastifyError;
    if (fe.validation) {
      const tooMany = batchTooLarge(fe);
      if (tooMany) return reply.status(413).send({ error: 'batch_too_large', message: tooMany });
      return reply.status(400).send({ error: 'invalid_request', message: validationMessage(fe) });
    }
    if (fe.code === 'FST_ERR_CTP_INVALID_JSON_BODY' || (fe.statusCode === 400 && /JSON/i.test(fe.message))) {
      return reply.status(400).send({ error: 'malformed_json', message: `body is not valid JSON: ${fe.message}` });
    }
    if (fe.code === 'FST_ERR_CTP_BODY_TOO_LARGE') return reply.status(413).send({ error: 'payload_too_large', message: fe.message });
    if (fe.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE')
      return reply.status(415).send({ error: 'unsupported_media_type', message: fe.message });
    if (fe.statusCode && fe.statusCode >= 400 && fe.statusCode < 500)
      return reply.status(fe.statusCode).send({ error: 'bad_request', message: fe.message });
    // Postgres said no: bad data is the caller's to fix (400), a conflict is 409, and only a
    // failure that can pass (connection, shutdown, resources, a lost serialisation) is 503.
    const state = sqlState(err);
    if (state) {
      if (state.startsWith('22'))
        return reply
          .status(400)
          .send({ error: 'invalid_request', message: 'a value in the request cannot be stored (out of range or malformed)' });
      if (state.startsWith('23'))
        return reply.status(409).send({ error: 'conflict', message: 'the request conflicts with what is stored' });
      if (!isTransientDbError(err)) {
        req.log.error({ err }, 'request failed');
        return reply.status(500).send({ error: 'internal', message: 'the service failed on this request' });
      }
    }
    req.log.error({ err }, 'request failed');
    return reply
      .status(503)
      .header('retry-after', '1')
      .send({ error: 'unavailable', message: 'the service could not complete the request; retry later' });
  });
  app.setNotFoundHandler((req, reply) =>
    reply.status(404).send({ error: 'not_found', message: `no route ${req.method} ${req.url.split('?')[0]}` }),
  );
}

const BATCHES = new Set(['items', 'users', 'events', 'ids']);

/** A body's batch (its top-level array: items, users, events, ids) over the schema's maxItems: 413, naming the limit. */
function batchTooLarge(fe: FastifyError): string | null {
  const v = fe.validation?.[0];
  const field = v?.instancePath.slice(1);
  if (!v || v.keyword !== 'maxItems' || (fe.validationContext ?? 'body') !== 'body' || !BATCHES.has(field ?? '')) return null;
  const limit = (v.params as { limit?: number }).limit;
  return `${field} has more than ${limit} entries; at most ${limit} per request`;
}

/** Turns ajv's first error into "body.users[0].vector[1] must be number". */
function validationMessage(fe: FastifyError): string {
  return describeIssues(fe.validation ?? [], fe.validationContext ?? 'body');
}
