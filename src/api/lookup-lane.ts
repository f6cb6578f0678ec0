// The batch lookup's fast lane (fast-lane.ts says what every lane answers and what not):
// `POST /v1/spaces/<space>/embeddings/lookup`, answered when the space and its versions are in
// memory and the cache knows every id asked for (a hit, or a negative entry: then the id is
// in `missing`), in JSON or, with `Accept: application/octet-stream`, packed float32. At 100
// cached ids Fastify's part (routing, the content-type parser, the body schema, the hooks,
// the reply) was about 40 % of a float32 lookup's CPU.
//
// Unlike the single-item GET's lane this one must read the body before it knows whether it
// can answer, and once read the request stream cannot give it to Fastify again. So it takes
// a request (and reads its body) only when everything but the body allows an answer:
// - `Content-Type: application/json` (or with `; charset=utf-8`), a Content-Length within the
//   route's body limit, no Transfer-Encoding or Content-Encoding;
// - the key and the process's load (laneAdmission).
// What it then cannot answer (a body of another shape, an id outside printable ASCII, too many
// ids, an id to be read from Postgres, a version gone meanwhile) it hands on to Fastify with
// the body it read (handOn; the route's replayReadBody hook gives the body back), where the
// route answers it as if no lane had been there, errors included.
import type { IncomingMessage, ServerResponse, RequestListener } from 'node:http';
import { giveBack, takeBuffer } from './answer-buffers.js';
import { cachedLookup } from '../lookup/read-through.js';
import { JSON_TYPE } from './embeddings.js';
import { handOn, laneAdmission, laneAnswers, pinnedVersion, SPACES_PREFIX, type FastLane, type LaneOptions } from './fast-lane.js';
import { requestTimer } from './http-metrics.js';
import { Id, LIMITS } from './schemas.js';
import { idsAt, scanLookupSpans } from './lookup-body.js';
import { DIM_HEADER, jsonLookupAnswer, packedLookupAnswer, PACKED_TYPE, SPACE_VERSION_HEADER } from './lookup-answer.js';
import { resolveKnownVersion } from './space-version.js';

const ROUTE = '/v1/spaces/:space/embeddings/lookup';
const SUFFIX = '/embeddings/lookup';
const JSON_TYPES = new Set(['application/json', 'application/json; charset=utf-8']);
/** The Id schema's longest id (schemas.ts), in characters: here every character is one byte. */
const MAX_ID = (Id as { maxLength?: number }).maxLength ?? 0;

/** A plain body's text and where its ids are in it (scanLookupSpans). */
export interface PlainLookup {
  text: string;
  spans: number[];
}

/**
 * A body of the plain shape whose every id the route's schema takes as it is: 1 to MAX_ID
 * printable ASCII characters, at most LIMITS.lookup of them. Else undefined (the route
 * decides: it may still take the body, or it says what is wrong with it).
 */
export function plainLookup(body: Buffer): PlainLookup | undefined {
  // latin1: one character a byte, so a byte past ASCII stays one (refused below) instead of
  // being decoded; the ids taken are then exactly the UTF-8 ones
  const text = body.toString('latin1');
  const spans = scanLookupSpans(text);
  if (!spans || spans.length > 2 * LIMITS.lookup) return undefined;
  for (let k = 0; k < spans.length; k += 2) {
    const from = spans[k]!;
    const to = spans[k + 1]!;
    if (to === from || to - from > MAX_ID) return undefined;
    for (let i = from; i < to; i++) {
      const c = text.charCodeAt(i);
      if (c < 0x20 || c > 0x7e) return undefined;
    }
  }
  return { text, spans };
}

export function lookupFastLane(o: LaneOptions): FastLane {
  const admits = laneAdmission(o, 'POST', ROUTE);
  const observe = requestTimer(ROUTE, 'POST', 200);
  const answered = laneAnswers(ROUTE);
  const limit = o.deps.config.BODY_LIMIT_BYTES;

  /** The answer from memory, or false having written nothing. */
  const answer = (req: IncomingMessage, res: ServerResponse, space: string, pinned: string | undefined, body: Buffer): boolean => {
    const plain = plainLookup(body);
    if (!plain) return false;
    // resolved once the body is in: the version the answer is from is the one current now
    const known = resolveKnownVersion(o.deps, space, pinned);
    if (!known) return false;
    const { version } = known;
    const found = cachedLookup(o.deps.cache, version.physicalId, plain.text, plain.spans);
    if (!found) return false;
    const n = plain.spans.length >> 1;
    // read out at once: the cache's slots are good until the event loop turns
    if (req.headers.accept === PACKED_TYPE) {
      const bytes = packedLookupAnswer(found, n, version.dim, takeBuffer);
      res.once('finish', () => giveBack(bytes));
      res.writeHead(200, {
        'content-type': PACKED_TYPE,
        [DIM_HEADER]: String(version.dim),
        [SPACE_VERSION_HEADER]: String(version.version),
        'content-length': bytes.length,
      });
      res.end(bytes);
    } else {
      const bytes = jsonLookupAnswer(found, idsAt(plain.text, plain.spans), version.version);
      res.writeHead(200, { 'content-type': JSON_TYPE, 'content-length': bytes.length });
      res.end(bytes);
    }
    return true;
  };

  return (req, res, fastify: RequestListener) => {
    const url = req.url;
    if (req.method !== 'POST' || url === undefined || !url.startsWith(SPACES_PREFIX) || url.includes('%')) return false;
    const started = performance.now();
    const slash = url.indexOf('/', SPACES_PREFIX.length);
    if (slash < 0 || !url.startsWith(SUFFIX, slash)) return false;
    const pinned = pinnedVersion(url, slash + SUFFIX.length);
    if (pinned === null) return false;
    const h = req.headers;
    const type = h['content-type'];
    const length = h['content-length'];
    if (type === undefined || !JSON_TYPES.has(type) || length === undefined || !/^\d{1,10}$/.test(length)) return false;
    if (Number(length) > limit || h['transfer-encoding'] !== undefined || h['content-encoding'] !== undefined) return false;
    const space = url.slice(SPACES_PREFIX.length, slash);
    if (!admits(req, space)) return false;
    // Taken: from here the lane answers or hands on, and nothing else reads the body.
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      chunks.push(c);
      size += c.length;
    });
    // A request that fails while its body comes (the client went, a timeout) has nobody to
    // answer: Node's server closes its socket, and 'end' never comes.
    req.on('error', (err) => o.log.debug({ err: err.message }, 'a lookup ended before its body was read'));
    req.on('end', () => {
      const body = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size);
      let done = false;
      try {
        done = answer(req, res, space, pinned, body);
      } catch (err) {
        // a fault of the lane's own: as the server does with one (fast-lane.ts)
        if (res.headersSent) return void res.destroy();
        o.log.error({ err }, 'the lookup lane failed; the request is answered by Fastify');
      }
      if (!done) return handOn(req, res, body, fastify);
      answered.inc();
      observe((performance.now() - started) / 1000);
    });
    return true;
  };
}
