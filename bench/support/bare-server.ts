// The lookup bench's ceiling: the simplest in-memory service answering the same routes
// with the same shapes, in its own process (forked by bare-server-process.ts) so that
// it, like the service, has a core's worth of event loop to itself. It holds the bench's
// established items in a Map and serialises with JSON.stringify on every request (no
// precomputed bytes: that is what a plain Fastify service would do). It does what the
// service cannot skip either: compares the bearer header (a string equality, the cheap
// part of the service's auth) and validates the lookup body with a JSON schema.
import Fastify from 'fastify';
import { BENCH_KEY } from './key.js';
import { establishedId, establishedVector } from './lookup-items.js';

export interface BareConfig {
  items: number;
  dim: number;
  seed: number;
}
export type BareMessage = { type: 'ready'; port: number; items: number; buildS: number } | { type: 'error'; message: string };

interface Entry {
  id: string;
  vector: number[];
  version: number;
  kind: string;
  interactions: number;
  modelVersion: null;
  updatedAt: string;
}

const send = (m: BareMessage) => {
  if (process.connected) process.send!(m);
};

async function main(cfg: BareConfig): Promise<void> {
  const t = performance.now();
  const updatedAt = new Date().toISOString();
  const items = new Map<string, Entry>();
  for (let i = 0; i < cfg.items; i++) {
    const id = establishedId(i);
    items.set(id, {
      id,
      vector: establishedVector(cfg.seed, cfg.dim, i),
      version: 1,
      kind: 'base',
      interactions: 0,
      modelVersion: null,
      updatedAt,
    });
  }
  const buildS = (performance.now() - t) / 1000;

  const app = Fastify({ logger: false });
  const expected = `Bearer ${BENCH_KEY}`; // the bench's key, inherited through EMERFLOW_KEY
  app.addHook('onRequest', (req, reply, done) => {
    if (req.headers.authorization !== expected) {
      void reply.code(401).send({ error: 'unauthorized', message: 'missing or unknown API key' });
      return;
    }
    done();
  });

  app.get<{ Params: { space: string; id: string } }>('/v1/spaces/:space/items/:id/embedding', async (req, reply) => {
    const e = items.get(req.params.id);
    if (!e) return reply.code(404).send({ error: 'not_found', message: `item "${req.params.id}"` });
    return reply.header('content-type', 'application/json; charset=utf-8').send(JSON.stringify(e));
  });

  app.post<{ Params: { space: string }; Body: { ids: string[] } }>(
    '/v1/spaces/:space/embeddings/lookup',
    {
      schema: {
        body: {
          type: 'object',
          required: ['ids'],
          additionalProperties: false,
          properties: { ids: { type: 'array', maxItems: 1000, items: { type: 'string', minLength: 1, maxLength: 256 } } },
        },
      },
    },
    async (req, reply) => {
      const { ids } = req.body;
      if (req.headers.accept === 'application/octet-stream') {
        const out = new Float32Array(ids.length * cfg.dim).fill(NaN);
        ids.forEach((id, i) => {
          const e = items.get(id);
          if (e) out.set(e.vector, i * cfg.dim);
        });
        return reply
          .header('content-type', 'application/octet-stream')
          .header('x-emerflow-dim', String(cfg.dim))
          .send(Buffer.from(out.buffer, out.byteOffset, out.byteLength));
      }
      const embeddings: { id: string; vector: number[]; version: number; kind: string }[] = [];
      const missing: string[] = [];
      for (const id of ids) {
        const e = items.get(id);
        if (e) embeddings.push({ id, vector: e.vector, version: e.version, kind: e.kind });
        else missing.push(id);
      }
      return reply.header('content-type', 'application/json; charset=utf-8').send(JSON.stringify({ embeddings, missing }));
    },
  );

  await app.listen({ port: 0, host: '127.0.0.1' });
  const addr = app.server.address();
  if (!addr || typeof addr === 'string') throw new Error('no TCP address');
  send({ type: 'ready', port: addr.port, items: items.size, buildS });
}

// Configuration comes as JSON in argv; the process ends with its parent (IPC disconnect).
// process.exit on SIGTERM too, so that node --cpu-prof (BENCH_BARE_CPU_PROF) writes its profile.
process.on('disconnect', () => process.exit(0));
process.on('SIGTERM', () => process.exit(0));
main(JSON.parse(process.argv[2] ?? '{}') as BareConfig).catch((err: Error) => {
  send({ type: 'error', message: err.stack ?? String(err) });
  setTimeout(() => process.exit(1), 100);
});
