// The single-item GET's fast lane (fast-lane.ts says what every lane answers and what not):
// `GET /v1/spaces/<space>/items/<id>/embedding`, answered when the space, its versions and the
// item's embedding are in memory (embeddings.ts, cachedItemAnswer, which the Fastify route
// answers with too). It reads no body, so what it does not take reaches Fastify untouched.
import { cachedItemAnswer, JSON_TYPE } from './embeddings.js';
import { laneAdmission, laneAnswers, pinnedVersion, SPACES_PREFIX, type FastLane, type LaneOptions } from './fast-lane.js';
import { requestTimer } from './http-metrics.js';

const ROUTE = '/v1/spaces/:space/items/:id/embedding';
const ITEMS = '/items/';
const SUFFIX = '/embedding';

export function itemFastLane(o: LaneOptions): FastLane {
  const admits = laneAdmission(o, 'GET', ROUTE);
  const observe = requestTimer(ROUTE, 'GET', 200);
  const answered = laneAnswers(ROUTE);
  return (req, res) => {
    const url = req.url;
    if (req.method !== 'GET' || url === undefined || !url.startsWith(SPACES_PREFIX) || url.includes('%')) return false;
    const started = performance.now();
    const items = url.indexOf('/', SPACES_PREFIX.length);
    if (items < 0 || !url.startsWith(ITEMS, items)) return false;
    const suffix = url.indexOf('/', items + ITEMS.length);
    if (suffix < 0 || !url.startsWith(SUFFIX, suffix)) return false;
    const pinned = pinnedVersion(url, suffix + SUFFIX.length);
    if (pinned === null) return false;
    const space = url.slice(SPACES_PREFIX.length, items);
    if (!admits(req, space)) return false;
    const body = cachedItemAnswer(o.deps, space, url.slice(items + ITEMS.length, suffix), pinned);
    if (body === null) return false;
    res.writeHead(200, { 'content-type': JSON_TYPE, 'content-length': body.length });
    res.end(body);
    answered.inc();
    // Until the answer is handed to the socket (Fastify's figure runs to the response's end)
    observe((performance.now() - started) / 1000);
    return true;
  };
}
