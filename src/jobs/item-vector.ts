// Encodes an item's serialised features with the model's encoder, reusing the stored
// vector when the text has not changed (an external encoder costs money and time).
import crypto from 'node:crypto';
import { serializeFeatures } from '../model/index.js';
import type { Queryable } from '../db/pool.js';
import type { ItemRow } from '../db/items.js';
import { fromBytes, toBytes } from '../db/vectors.js';
import type { LoadedModel } from './model-cache.js';

/** Raw features, plus the enrichment only when it was made for the current content. */
export function itemText(item: Pick<ItemRow, 'features' | 'enrichment' | 'enrichmentHash' | 'contentHash'>): string {
  const attrs = item.enrichment && item.enrichmentHash === item.contentHash ? (item.enrichment['attributes'] as Record<string, unknown> | undefined) ?? null : null;
  return serializeFeatures(item.features, attrs);
}

export async function itemVector(db: Queryable, space: string, item: ItemRow, model: LoadedModel): Promise<Float32Array> {
  const text = itemText(item);
  const textHash = crypto.createHash('sha256').update(text).digest('hex');
  const hit = await db.query<{ vector: Buffer }>(
    'SELECT vector FROM item_vectors WHERE space_id = $1 AND item_id = $2 AND encoder = $3 AND text_hash = $4',
    [space, item.id, model.encoderName, textHash],
  );
  if (hit.rows[0]) return fromBytes(hit.rows[0].vector);
  const [r] = await model.encoder.encode([text]);
  await db.query(
    `INSERT INTO item_vectors (space_id, item_id, encoder, text_hash, vector) VALUES ($1, $2, $3, $4, $5)
     ON CONFLICT (space_id, item_id, encoder) DO UPDATE SET text_hash = EXCLUDED.text_hash, vector = EXCLUDED.vector, created_at = now()`,
    [space, item.id, model.encoderName, textHash, toBytes(r!)],
  );
  return r!;
}
