// Each request's logger is made only when the request logs (src/request-logger.ts), and the
// lookup routes are not access-logged unless LOG_LOOKUPS: what is written must not change
// for anything else.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { createLogger } from '../src/logger.js';
import { lazyRequestLogger } from '../src/request-logger.js';
import { createServer } from '../src/app.js';
import { loadConfig } from '../src/config.js';
import { startTestService, TEST_ADMIN_KEY } from './support/service.js';
import { seedSpace } from './support/space.js';

function sink(): { lines: () => Record<string, unknown>[]; stream: Writable } {
  const raw: string[] = [];
  const stream = new Writable({
    write(chunk, _enc, done) {
      raw.push(String(chunk));
      done();
    },
  });
  const lines = () =>
    raw
      .join('')
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as Record<string, unknown>);
  return { lines, stream };
}

test('a request logger is made when it first writes, with its bindings, and drops what its level drops', () => {
  const out = sink();
  const parent = createLogger('warn', out.stream);
  let made = 0;
  const child = parent.child.bind(parent);
  parent.child = ((...a: Parameters<typeof child>) => (made++, child(...a))) as typeof parent.child;

  const log = lazyRequestLogger(parent, { reqId: 'r1' }, {});
  log.info({ x: 1 }, 'dropped');
  log.debug('dropped too');
  assert.equal(made, 0, 'nothing logged, no child made');
  assert.equal(log.level, 'warn');
  log.warn({ x: 2 }, 'kept');
  log.error('kept too');
  assert.equal(made, 1, 'one child, made once');
  assert.deepEqual(
    out.lines().map((l) => [l['msg'], l['reqId'], l['x']]),
    [
      ['kept', 'r1', 2],
      ['kept too', 'r1', undefined],
    ],
  );

  // a route's own level (Fastify passes it as the child's) wins over the parent's
  const chatty = lazyRequestLogger(parent, { reqId: 'r2' }, { level: 'debug' });
  chatty.debug('debug kept');
  chatty.trace('trace dropped');
  assert.equal(chatty.level, 'debug');
  assert.deepEqual(
    out.lines().map((l) => l['msg']),
    ['kept', 'kept too', 'debug kept'],
  );
  // redaction still applies to what a request logs
  chatty.warn({ req: { headers: { authorization: 'Bearer secret-key' } } }, 'with a header');
  assert.ok(!JSON.stringify(out.lines()).includes('secret-key'));
});

for (const logLookups of [false, true]) {
  test(`lookups are access-logged only with LOG_LOOKUPS (here ${logLookups}); other routes always`, async (t) => {
    const out = sink();
    const svc = await startTestService(t, { LOG_LEVEL: 'info', LOG_LOOKUPS: String(logLookups) }, { logTo: out.stream });
    const app = svc.app!;
    const world = await seedSpace(app, { train: false });
    const id = world.items[0]!.id;
    const auth = { authorization: `Bearer ${TEST_ADMIN_KEY}` };
    // the caller's x-request-id is the request's id in the log
    const as = (reqId: string) => ({ ...auth, 'x-request-id': reqId });
    const get = await app.inject({ method: 'GET', url: `/v1/spaces/movies/items/${id}/embedding`, headers: as('get-1') });
    assert.equal(get.statusCode, 200, get.body);
    const batch = await app.inject({
      method: 'POST',
      url: '/v1/spaces/movies/embeddings/lookup',
      headers: as('batch-1'),
      payload: { ids: [id] },
    });
    assert.equal(batch.statusCode, 200, batch.body);
    const space = await app.inject({ method: 'GET', url: '/v1/spaces/movies', headers: as('space-1') });
    assert.equal(space.statusCode, 200, space.body);

    const completed = (reqId: string) => out.lines().filter((l) => l['msg'] === 'request completed' && l['reqId'] === reqId).length;
    assert.equal(completed('space-1'), 1, 'another route is logged');
    assert.equal(completed('get-1'), logLookups ? 1 : 0, 'the single-item GET');
    assert.equal(completed('batch-1'), logLookups ? 1 : 0, 'the batch lookup');
  });
}

test('a server with no logger at all (startService with logRequests: false, as bench:ingest runs it) answers requests', async () => {
  const app = createServer(loadConfig({}), false);
  app.get('/ping', async (req) => {
    req.log.info('not written anywhere');
    return { ok: true };
  });
  try {
    const r = await app.inject({ method: 'GET', url: '/ping' });
    assert.equal(r.statusCode, 200, r.body);
    assert.deepEqual(r.json(), { ok: true });
  } finally {
    await app.close();
  }
});
