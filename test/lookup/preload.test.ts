// A warm start: an API process started with LOOKUP_PRELOAD_SPACES loads the space's served
// embeddings before any lookup asks, so the first lookups cost no database read.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { freshDatabase, startTestService, waitFor } from '../support/service.js';
import { post, seedSpace } from '../support/space.js';

const metric = (body: string, name: string, labels = '') => {
  const m = new RegExp(`^${name}${labels.replace(/[{}]/g, '\\$&')} (\\S+)$`, 'm').exec(body);
  return m ? Number(m[1]) : 0;
};

test('an API process preloads the spaces it is told to, and its first lookups read nothing from Postgres', async (t) => {
  const databaseUrl = await freshDatabase(t);
  const prefix = `t${crypto.randomBytes(4).toString('hex')}`;
  const writer = await startTestService(t, {}, { databaseUrl, prefix });
  const world = await seedSpace(writer.app!, { train: false }); // 30 established items: each serves its own vector
  const reader = await startTestService(t, { ROLE: 'api', LOOKUP_PRELOAD_SPACES: 'movies' }, { databaseUrl, prefix });
  const metrics = async () => (await reader.app!.inject({ method: 'GET', url: '/metrics' })).body;
  await waitFor(async () => metric(await metrics(), 'emerflow_lookup_cache_entries') === 30, 'the 30 served embeddings preloaded');
  const before = metric(await metrics(), 'emerflow_lookup_cache_misses_total', '{space="movies"}');
  const ids = world.items.slice(0, 30).map((i) => i.id);
  const r = await post(reader.app!, '/v1/spaces/movies/embeddings/lookup', { ids });
  assert.equal(r.statusCode, 200);
  assert.equal((r.json() as { embeddings: unknown[] }).embeddings.length, 30);
  assert.equal(metric(await metrics(), 'emerflow_lookup_cache_misses_total', '{space="movies"}'), before, 'no id was read from Postgres');
});
