// A warm start: an API process started with LOOKUP_PRELOAD_SPACES loads the space's served
// embeddings before any lookup asks, so the first lookups cost no database read.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { waitFor } from '../support/service.js';
import { post } from '../support/space.js';
import { writerAndReader } from '../support/api-reader.js';

test('an API process preloads the spaces it is told to, and its first lookups read nothing from Postgres', async (t) => {
  const { reader, world, metric } = await writerAndReader(t, { LOOKUP_PRELOAD_SPACES: 'movies' });
  await waitFor(async () => (await metric('emerflow_lookup_cache_entries')) === 30, 'the 30 served embeddings preloaded');
  const before = await metric('emerflow_lookup_cache_misses_total', '{space="movies"}');
  const ids = world.items.slice(0, 30).map((i) => i.id);
  const r = await post(reader.app!, '/v1/spaces/movies/embeddings/lookup', { ids });
  assert.equal(r.statusCode, 200);
  assert.equal((r.json() as { embeddings: unknown[] }).embeddings.length, 30);
  assert.equal(await metric('emerflow_lookup_cache_misses_total', '{space="movies"}'), before, 'no id was read from Postgres');
});
