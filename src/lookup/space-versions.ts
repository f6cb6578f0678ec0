// Which version of a space is current, and where each version is kept: asked on every
// request, so kept in memory per API process. A change of a space's versions NOTIFYs on the
// lookup cache's channel with its transaction (migration 007) and drops the space's entry;
// while that channel is down nothing is kept (every request reads Postgres), and the TTL is
// the net beneath, as for the embeddings themselves.
import { listVersions, type VersionRow } from '../db/space-versions.js';
import type { Queryable } from '../db/pool.js';

export interface SpaceVersionsOptions {
  ttlMs: number;
  now?: () => number;
}

interface Entry {
  rows: VersionRow[];
  expires: number;
  /** bumped by every invalidation: a read that began before one is not stored */
  epoch: number;
}

export class SpaceVersions {
  private entries = new Map<string, Entry>();
  private epochs = new Map<string, number>();
  private enabled = true;
  private readonly now: () => number;

  constructor(
    private readonly db: Queryable,
    private readonly opts: SpaceVersionsOptions,
  ) {
    this.now = opts.now ?? Date.now;
  }

  /** The space's versions, oldest first (empty for a space that does not exist). */
  async versions(space: string): Promise<VersionRow[]> {
    const hit = this.entries.get(space);
    if (hit && hit.expires > this.now()) return hit.rows;
    const epoch = this.epochs.get(space) ?? 0;
    const rows = await listVersions(this.db, space);
    // An invalidation that arrived while this read ran may postdate what it read: not kept.
    if (this.enabled && (this.epochs.get(space) ?? 0) === epoch)
      this.entries.set(space, { rows, expires: this.now() + this.opts.ttlMs, epoch });
    return rows;
  }

  /** The space's versions if they are in memory and fresh, else null (then ask `versions`). */
  cached(space: string): VersionRow[] | null {
    const hit = this.entries.get(space);
    return hit && hit.expires > this.now() ? hit.rows : null;
  }

  invalidate(space: string): void {
    this.entries.delete(space);
    this.epochs.set(space, (this.epochs.get(space) ?? 0) + 1);
  }

  setEnabled(on: boolean): void {
    this.enabled = on;
    this.entries.clear();
    for (const k of this.epochs.keys()) this.epochs.set(k, (this.epochs.get(k) ?? 0) + 1);
  }
}
