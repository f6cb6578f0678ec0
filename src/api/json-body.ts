// The API's JSON body parser: Fastify's own (with its prototype-poisoning protection), except
// that an empty body (e.g. `POST /train` from curl) reads as no body, and a signed webhook
// delivery keeps its raw text for the signature check (auth.ts). A route context may put a
// reader of its own plain shape first (embeddings.ts: lookup-body.ts).
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { SIGNATURE_HEADER } from '../auth/webhook-signature.js';

export type BodyParser = (req: FastifyRequest, body: string, done: (err: Error | null, body?: unknown) => void) => void;

/** `first` reads what it can (undefined: not its shape); the rest goes to Fastify's parser. */
export function jsonBodyParser(app: FastifyInstance, first?: (body: string) => unknown): BodyParser {
  const json = app.getDefaultJsonParser('error', 'ignore');
  return (req, body, done) => {
    if (req.headers[SIGNATURE_HEADER] !== undefined) req.rawBody = body;
    if (body === '') return done(null, undefined);
    const plain = first?.(body);
    if (plain !== undefined) done(null, plain);
    else json(req, body, done);
  };
}
