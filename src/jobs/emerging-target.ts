// What embed and refine both start from: the emerging item, its space and the space's
// active model — or why there is nothing to do (gone, established, no model yet).
import { getSpace } from '../db/spaces.js';
import { getItem, type ItemRow } from '../db/items.js';
import type { JobDeps } from './deps.js';
import type { LoadedModel } from './model-cache.js';

export type EmergingTarget = { item: ItemRow; model: LoadedModel } | { skipped: 'gone' | 'established' | 'no model yet' };

export async function emergingTarget(deps: JobDeps, spaceId: string, itemId: string): Promise<EmergingTarget> {
  const space = await getSpace(deps.db, spaceId);
  const item = space ? await getItem(deps.db, spaceId, itemId) : null;
  if (!space || !item) return { skipped: 'gone' };
  if (item.state === 'established') return { skipped: 'established' };
  // No model yet: the item waits in its state; the training run re-embeds it.
  if (space.activeModel === null) return { skipped: 'no model yet' };
  return { item, model: await deps.models.get(space.activeModel) };
}
