// Encodes items' serialised features with the model's encoder, reusing stored vectors
// whose text has not changed (an external encoder costs money and time): one lookup,
// one encoder call for the misses, one write.
import crypto from 'node:crypto';
import { serializeFeatures } from '../model/index.js';
import type { Queryable } from '../db/pool.js';
import type { ItemRow } from '../db/items.js';
import { fromBytes, toBytes } from '../db/vectors.js';
import type { LoadedModel } from './model-cache.js';

type TextSource = Pick<ItemRow, 'features' | 'enrichment' | 'enrichmentHash' | 'contentHash'>;

/** Raw features, plus the enrichment only when it was made for the current content. */
export function itemText(item: TextSource): string {
  const attrs =
    item.enrichment && item.enrichmentHash === item.contentHash
      ? ((item.enrichment['attributes'] as Record<string, unknown> | undefined) ?? null)
      : null;
  return serializeFeatures(item.features, attrs);
}

export async function itemVectors(
  db: Queryable,
  space: string,
  items: (TextSource & { id: string })[],
  model: LoadedModel,
): Promise<Float32Array[]> {
  if (items.length === 0) return [];
  const texts = items.map(itemText);
  const hashes = texts.map((t) => crypto.createHash('sha256').update(t).digest('hex'));
  const hit = await db.query<{ id: string; vector: Buffer }>(
    `SELECT v.item_id AS id, v.vector FROM item_vectors v
     JOIN unnest($2::text[], $3::text[]) AS w(id, hash) ON v.item_id = w.id AND v.text_hash = w.hash
     WHERE v.space_id = $1 AND v.encoder = $4`,
    [space, items.map((i) => i.id), hashes, model.encoderName],
  );
  const cached = new Map(hit.rows.map((r) => [r.id, fromBytes(r.vector)]));
  const missing = items.map((it, k) => ({ id: it.id, k })).filter((m) => !cached.has(m.id));
  if (missing.length) {
    const encoded = await model.encoder.encode(missing.map((m) => texts[m.k]!));
    missing.forEach((m, j) => cached.set(m.id, encoded[j]!));
    await db.query(
      `INSERT INTO item_vectors (space_id, item_id, encoder, text_hash, vector)
       SELECT $1, w.id, $2, w.hash, w.vector FROM unnest($3::text[], $4::text[], $5::bytea[]) AS w(id, hash, vector)
       JOIN items i ON i.space_id = $1 AND i.id = w.id
       ON CONFLICT (space_id, item_id, encoder) DO UPDATE SET text_hash = EXCLUDED.text_hash, vector = EXCLUDED.vector, created_at = now()`,
      [space, model.encoderName, missing.map((m) => m.id), missing.map((m) => hashes[m.k]!), encoded.map((v) => toBytes(v))],
    );
  }
  return items.map((it) => cached.get(it.id)!);
}
