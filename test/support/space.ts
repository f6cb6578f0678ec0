// Sets a space up through the public API: users, established items with their
// interactions, and (optionally) a trained model.
import assert from 'node:assert/strict';
import type { FastifyInstance } from 'fastify';
import { waitFor } from './service.js';
import { makeWorld, type World } from './fixtures.js';

export async function post(app: FastifyInstance, url: string, payload: unknown) {
  return app.inject({ method: 'POST', url, payload: payload as object });
}

export async function seedSpace(
  app: FastifyInstance,
  opts: { space?: string; train?: boolean; world?: World; established?: number } = {},
): Promise<World> {
  const space = opts.space ?? 'movies';
  const world = opts.world ?? makeWorld({ dim: 8, users: 40, items: 40 });
  const n = opts.established ?? 30;
  assert.equal((await post(app, '/v1/spaces', { id: space, dim: world.dim, itemType: 'movie', scorer: 'dot' })).statusCode, 201);
  assert.equal((await post(app, `/v1/spaces/${space}/users`, { users: world.users })).statusCode, 200);
  const items = world.items.slice(0, n).map((i) => ({ id: i.id, features: i.features, embedding: i.vector }));
  assert.equal((await post(app, `/v1/spaces/${space}/items`, { items })).statusCode, 202);
  const events = [];
  for (let it = 0; it < n; it++)
    for (let u = 0; u < world.users.length; u += 2) {
      events.push({
        id: `seed-${it}-${u}`,
        userId: world.users[u]!.id,
        itemId: world.items[it]!.id,
        label: world.label(u, it),
        ts: new Date(Date.UTC(2026, 0, 1, 0, it, u)).toISOString(),
      });
    }
  assert.equal((await post(app, `/v1/spaces/${space}/interactions`, { events })).statusCode, 202);
  if (opts.train !== false) await train(app, space);
  return world;
}

export async function train(app: FastifyInstance, space: string): Promise<Record<string, unknown>> {
  const { jobId } = (await post(app, `/v1/spaces/${space}/train`, {})).json();
  return waitFor(
    async () => {
      const j = (await app.inject({ method: 'GET', url: `/v1/jobs/${jobId}` })).json();
      if (j.state === 'failed') throw new Error(`training failed: ${j.error}`);
      return j.state === 'completed' ? j : null;
    },
    'training to complete',
    120_000,
  );
}

export async function embeddingOf(
  app: FastifyInstance,
  space: string,
  id: string,
): Promise<{ version: number; kind: string; vector: number[]; interactions: number } | null> {
  const r = await app.inject({ method: 'GET', url: `/v1/spaces/${space}/items/${id}/embedding` });
  return r.statusCode === 200 ? r.json() : null;
}
