// Sets a space up over real HTTP, against a service in another process: the
// equivalent of seedSpace (test/support/space.ts), which uses fastify's inject.
// Users with vectors, established items with their embedding and interactions, then
// a trained model.
import assert from 'node:assert/strict';
import { makeWorld, type World } from './fixtures.js';
import type { HttpClient } from './http-client.js';

/** Polls `fn` every `everyMs` until it returns a truthy value; throws with `what` after `timeoutMs`. */
export async function poll<T>(
  fn: () => Promise<T | null | undefined | false>,
  what: string,
  opts: { timeoutMs: number; everyMs?: number },
): Promise<NonNullable<Exclude<T, false>>> {
  const start = Date.now();
  for (;;) {
    const v = await fn();
    if (v) return v as NonNullable<Exclude<T, false>>;
    if (Date.now() - start > opts.timeoutMs) throw new Error(`timed out after ${opts.timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, opts.everyMs ?? 500));
  }
}

export async function seedSpaceOverHttp(
  http: HttpClient,
  opts: { space: string; world?: World; established?: number; train?: boolean; trainTimeoutMs?: number },
): Promise<World> {
  const { space } = opts;
  const world = opts.world ?? makeWorld({ dim: 8, users: 40, items: 40 });
  const n = opts.established ?? 30;
  const created = await http.post('/v1/spaces', { id: space, dim: world.dim, itemType: 'movie', scorer: 'dot' });
  assert.equal(created.status, 201, `create space: ${JSON.stringify(created.body)}`);
  const users = await http.post(`/v1/spaces/${space}/users`, { users: world.users });
  assert.equal(users.status, 200, `users: ${JSON.stringify(users.body)}`);
  const items = world.items.slice(0, n).map((i) => ({ id: i.id, features: i.features, embedding: i.vector }));
  const posted = await http.post(`/v1/spaces/${space}/items`, { items });
  assert.equal(posted.status, 202, `established items: ${JSON.stringify(posted.body)}`);
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
  const ev = await http.post(`/v1/spaces/${space}/interactions`, { events });
  assert.equal(ev.status, 202, `seed interactions: ${JSON.stringify(ev.body)}`);
  if (opts.train !== false) await trainOverHttp(http, space, opts.trainTimeoutMs ?? 120_000);
  return world;
}

/** POST /train, then polls GET /v1/jobs/:id until the run completed (throws if it failed). */
export async function trainOverHttp(http: HttpClient, space: string, timeoutMs = 120_000): Promise<Record<string, unknown>> {
  const started = await http.post(`/v1/spaces/${space}/train`, {});
  assert.equal(started.status, 202, `train: ${JSON.stringify(started.body)}`);
  const { jobId } = started.body as { jobId: string };
  return poll(
    async () => {
      const j = await http.get(`/v1/jobs/${jobId}`);
      assert.equal(j.status, 200, `job ${jobId}: ${JSON.stringify(j.body)}`);
      if (j.body.state === 'failed') throw new Error(`training failed: ${j.body.error}`);
      return j.body.state === 'completed' ? (j.body as Record<string, unknown>) : null;
    },
    `training run ${jobId} to complete`,
    { timeoutMs, everyMs: 500 },
  );
}
