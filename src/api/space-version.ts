// Which version of a space a request is about: `?version=v` pins one (404
// version_not_found when it does not exist or was pruned), without it the current one.
// Every embedding answer names the version it came from, and reads one version only.
import type { SpaceRow } from '../db/spaces.js';
import type { VersionRow } from '../db/space-versions.js';
import { ApiError } from './errors.js';
import { knownSpace, requireSpace, type AppDeps } from './deps.js';

// declared with the rest of the wire contract (src/api/contract.ts)
export { VersionNumber, VersionQuery } from './contract.js';

export interface Resolved {
  space: SpaceRow;
  version: VersionRow;
}

/** The pinned version, or without a pin the current one. */
const pick = (versions: VersionRow[], pinned: string | number | undefined): VersionRow | undefined =>
  pinned === undefined ? versions.find((x) => x.state === 'current') : versions.find((x) => x.version === Number(pinned));

export async function resolveVersion(deps: AppDeps, spaceId: string, pinned?: string | number): Promise<Resolved> {
  const version = pinned === undefined ? undefined : Number(pinned);
  const space = await requireSpace(deps, spaceId);
  const v = pick(await deps.versions.versions(space.id), pinned);
  if (!v) {
    if (version === undefined) throw new Error(`space "${space.id}" has no current version`);
    throw new ApiError(404, 'version_not_found', `space "${space.id}" has no version ${version} (never created, or pruned)`);
  }
  return { space, version: v };
}

/**
 * resolveVersion without a wait, when this process has the space and its versions in memory
 * (the usual case on the lookup path); null when it must ask Postgres (or the answer is an error).
 */
export function resolveKnownVersion(deps: AppDeps, spaceId: string, pinned?: string): Resolved | null {
  const space = knownSpace(deps, spaceId);
  const versions = space && deps.versions.cached(space.id);
  if (!space || !versions) return null;
  const v = pick(versions, pinned);
  return v ? { space, version: v } : null;
}

/** A version that takes the recommender's vectors (users, established items): not a retired one. */
export async function resolveWritableVersion(deps: AppDeps, spaceId: string, pinned?: string | number): Promise<Resolved> {
  const r = await resolveVersion(deps, spaceId, pinned);
  if (r.version.state === 'retired')
    throw new ApiError(409, 'version_retired', `version ${r.version.version} of space "${spaceId}" is retired and takes no more vectors`);
  return r;
}
