// The embed and refine steps write back here: guarded writes (each commits only for items
// whose read is still current), retention of the newest few versions, and the count of
// writes dropped as stale. The caller completes its tasks after the write (a crash in
// between re-runs the job, whose write the guards then drop) and invalidates lookup caches
// for the returned ids.
import { Counter } from 'prom-client';
import type { Queryable } from '../db/pool.js';
import { writeColdEmbeddings, writeRefinedEmbeddings, type ReadStamp } from '../db/embeddings.js';
import { registry } from '../metrics.js';

export const staleWrites = new Counter({
  name: 'emerflow_stale_writes_total',
  help:
    'Embedding writes dropped because what their job read was no longer current ' +
    '(newer events, text, model, incarnation, or established).',
  labelNames: ['step'],
  registers: [registry],
});

/** Writes, in one statement (db/embeddings.ts), the cold embeddings the embed step made. */
export async function storeColdEmbeddings(
  db: Queryable,
  spaceId: string,
  modelId: number,
  keep: number,
  rows: (ReadStamp & { cold: Float32Array; served: Float32Array; interactions: number })[],
): Promise<string[]> {
  const written = await writeColdEmbeddings(db, spaceId, modelId, keep, rows);
  if (written.length < rows.length) staleWrites.inc({ step: 'embed' }, rows.length - written.length);
  return written.map((w) => w.id);
}

/** Writes, in one statement (db/embeddings.ts), the refined embeddings the refine step made. */
export async function storeRefinedEmbeddings(
  db: Queryable,
  spaceId: string,
  modelId: number,
  keep: number,
  rows: (ReadStamp & { vector: Float32Array; interactions: number })[],
): Promise<string[]> {
  const written = await writeRefinedEmbeddings(db, spaceId, modelId, keep, rows);
  if (written.length < rows.length) staleWrites.inc({ step: 'refine' }, rows.length - written.length);
  return written.map((w) => w.id);
}
