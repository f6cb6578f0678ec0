// What embed and refine both start from: the tasks of a job grouped by space, each with
// the space's active model — or why there is nothing to do there (space gone, no model yet).
import { getSpace } from '../db/spaces.js';
import { loadPipelineItems, type PipelineItem } from '../db/items.js';
import type { JobDeps } from './deps.js';
import type { LoadedModel } from './model-cache.js';
import type { Task } from './run-task.js';

export interface SpaceGroup<T> {
  spaceId: string;
  tasks: T[];
  target: { model: LoadedModel } | { skipped: 'space gone' | 'no model yet' };
}

export async function bySpace<T extends Task<'embed' | 'refine'>>(deps: JobDeps, tasks: T[]): Promise<SpaceGroup<T>[]> {
  const groups = new Map<string, T[]>();
  for (const t of tasks) {
    const list = groups.get(t.payload.space);
    if (list) list.push(t);
    else groups.set(t.payload.space, [t]);
  }
  const out: SpaceGroup<T>[] = [];
  for (const [spaceId, list] of groups) {
    const space = await getSpace(deps.db, spaceId);
    const target = !space
      ? { skipped: 'space gone' as const }
      : space.activeModel === null
        ? { skipped: 'no model yet' as const }
        : { model: await deps.models.get(space.activeModel) };
    out.push({ spaceId, tasks: list, target });
  }
  return out;
}

/** The group's items as the embed and refine steps read them, with their most recent events. */
export function loadGroupItems(deps: JobDeps, group: SpaceGroup<Task<'embed' | 'refine'>>): Promise<Map<string, PipelineItem>> {
  return loadPipelineItems(
    deps.db,
    group.spaceId,
    group.tasks.map((t) => t.payload.item),
    deps.config.REFINE_MAX_INTERACTIONS,
  );
}
