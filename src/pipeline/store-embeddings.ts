// The embed and refine steps write back here: guarded writes (each commits only for items
// whose read is still current), retention of the newest few versions, and the count of
// writes dropped as stale. The caller passes its transaction and invalidates lookup caches
// for the returned ids after the commit.
import { Counter } from 'prom-client';
import type { Queryable } from '../db/pool.js';
import { pruneVersions, writeColdEmbeddings, writeRefinedEmbeddings, type ReadStamp } from '../db/embeddings.js';
import { lockItems } from '../db/items.js';
import { registry } from '../metrics.js';

export const staleWrites = new Counter({
  name: 'emerflow_stale_writes_total',
  help: 'Embedding writes dropped because what their job read was no longer current (newer events, text, model, incarnation, or established).',
  labelNames: ['step'], registers: [registry],
});

/**
 * Holds the space's active model for the rest of the transaction (FOR SHARE): false when
 * it is no longer `modelId`, and then nothing may be written.
 */
export async function modelStillActive(tx: Queryable, spaceId: string, modelId: number): Promise<boolean> {
  const r = await tx.query<{ active: string | null }>('SELECT active_model AS active FROM spaces WHERE id = $1 FOR SHARE', [spaceId]);
  return r.rows[0] !== undefined && Number(r.rows[0].active) === modelId;
}

/**
 * `lock`: every item whose task the transaction will complete. Item rows are locked (in id
 * order) before any task row, in every transaction, so none can deadlock with another.
 */
export async function storeColdEmbeddings(
  tx: Queryable, spaceId: string, modelId: number, keep: number,
  rows: (ReadStamp & { cold: Float32Array; served: Float32Array; interactions: number })[], lock: string[],
): Promise<string[]> {
  if (rows.length === 0) return [];
  if (!(await modelStillActive(tx, spaceId, modelId))) { staleWrites.inc({ step: 'embed' }, rows.length); return []; }
  await lockItems(tx, spaceId, [...new Set([...lock, ...rows.map((r) => r.id)])]);
  const written = await writeColdEmbeddings(tx, spaceId, modelId, rows);
  if (written.length < rows.length) staleWrites.inc({ step: 'embed' }, rows.length - written.length);
  await pruneVersions(tx, spaceId, written, keep);
  return written.map((w) => w.id);
}

export async function storeRefinedEmbeddings(
  tx: Queryable, spaceId: string, modelId: number, keep: number,
  rows: (ReadStamp & { vector: Float32Array; interactions: number })[], lock: string[],
): Promise<string[]> {
  if (rows.length === 0) return [];
  if (!(await modelStillActive(tx, spaceId, modelId))) { staleWrites.inc({ step: 'refine' }, rows.length); return []; }
  await lockItems(tx, spaceId, [...new Set([...lock, ...rows.map((r) => r.id)])]);
  const written = await writeRefinedEmbeddings(tx, spaceId, modelId, rows);
  if (written.length < rows.length) staleWrites.inc({ step: 'refine' }, rows.length - written.length);
  await pruneVersions(tx, spaceId, written, keep);
  return written.map((w) => w.id);
}
