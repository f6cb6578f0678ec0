// Refresh before the deadline, in a running API process (lookup/ttl-refresh.ts): with a TTL of
// three seconds, the preloaded entries lookups use are read again before it runs out, and only
// those. (What a refresh reads and how it renews an entry: test/lookup/reads.test.ts and
// cache.test.ts, on a clock of their own.)
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { waitFor } from '../support/service.js';
import { post } from '../support/space.js';
import { writerAndReader } from '../support/api-reader.js';

test('an API process reads the entries in use again before their TTL runs out, and only those', async (t) => {
  const { reader, world, metric } = await writerAndReader(t, { LOOKUP_PRELOAD_SPACES: 'movies', LOOKUP_CACHE_TTL_MS: '3000' });
  await waitFor(async () => (await metric('emerflow_lookup_cache_entries')) === 30, 'the 30 served embeddings preloaded');
  const space = '{space="movies"}';
  // counters are the test process's (other files may run in it): deltas only
  const misses = await metric('emerflow_lookup_cache_misses_total', space);
  const refreshes = await metric('emerflow_lookup_cache_refreshes_total', space);
  // well within the preloaded entries' 3 s, so all five are served from the cache
  const ids = world.items.slice(0, 5).map((i) => i.id);
  const r = await post(reader.app!, '/v1/spaces/movies/embeddings/lookup', { ids });
  assert.equal(r.statusCode, 200);
  assert.equal((r.json() as { embeddings: unknown[] }).embeddings.length, 5);
  const refreshed = await waitFor(async () => {
    const n = (await metric('emerflow_lookup_cache_refreshes_total', space)) - refreshes;
    return n >= 5 && n;
  }, 'the five entries in use read again');
  assert.equal(refreshed, 5, 'the 25 entries nobody looked up were not read again');
  assert.equal(await metric('emerflow_lookup_cache_misses_total', space), misses, 'the lookup was answered from the cache');
});
