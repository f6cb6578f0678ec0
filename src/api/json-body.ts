// The API's JSON body parser: Fastify's own (with its prototype-poisoning protection), except
// that an empty body (e.g. `POST /train` from curl) reads as no body, and a signed webhook
// delivery keeps its raw text for the signature check (auth.ts).
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { SIGNATURE_HEADER } from '../auth/webhook-signature.js';

export type BodyParser = (req: FastifyRequest, body: string, done: (err: Error | null, body?: unknown) => void) => void;

export function jsonBodyParser(app: FastifyInstance): BodyParser {
  const json = app.getDefaultJsonParser('error', 'ignore');
  return (req, body, done) => {
    if (req.headers[SIGNATURE_HEADER] !== undefined) req.rawBody = body;
    if (body === '') done(null, undefined);
    else json(req, body, done);
  };
}
