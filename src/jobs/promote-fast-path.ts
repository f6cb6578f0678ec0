// The fast path of a promotion: a map from the current version's space to the new one,
// fitted on the items established in both (orthogonal Procrustes when the dimension is
// unchanged, ridge otherwise: model/version-map.ts), applied to what the current version
// serves for each emerging item, and written as its `mapped` embedding in the new version —
// in pages by id, each one statement, so a killed run resumes where it stopped (an item
// that serves something in the new version already is skipped). The full path (the new
// version's model, cold embedding, refinement) replaces each as it reaches it.
import { fromBytes, toBytes } from '../db/vectors.js';
import { establishedPairs, unmappedPage, writeMapped } from '../db/space-versions.js';
import type { Queryable } from '../db/pool.js';
import { fitVersionMap } from '../model/version-map.js';

export interface FastPathResult {
  kind?: string;
  pairs: number;
  fitError?: number;
  mapped: number;
  ms: number;
  skipped?: string;
}

export async function runFastPath(
  db: Queryable,
  from: string,
  to: string,
  batch: number,
  progress: (mapped: number) => void,
): Promise<FastPathResult> {
  const started = Date.now();
  const pairs = await establishedPairs(db, from, to);
  if (pairs.length < 2)
    return { pairs: pairs.length, mapped: 0, ms: Date.now() - started, skipped: 'fewer than 2 items are established in both versions' };
  let map;
  try {
    map = fitVersionMap(
      pairs.map((p) => fromBytes(p.from)),
      pairs.map((p) => fromBytes(p.to)),
    );
  } catch (err) {
    // degenerate pairs (e.g. all the same old vector): no map, the full path alone migrates
    return { pairs: pairs.length, mapped: 0, ms: Date.now() - started, skipped: (err as Error).message };
  }
  let mapped = 0;
  let after = '';
  for (;;) {
    const page = await unmappedPage(db, from, to, after, batch);
    if (page.length === 0) break;
    const rows = page.flatMap((r) => (r.vector ? [{ id: r.id, vector: toBytes(map.apply(fromBytes(r.vector))) }] : []));
    mapped += await writeMapped(db, to, rows);
    progress(mapped);
    after = page[page.length - 1]!.id;
  }
  return { kind: map.kind, pairs: map.pairs, fitError: map.fitError, mapped, ms: Date.now() - started };
}
