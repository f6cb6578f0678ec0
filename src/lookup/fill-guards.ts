// The lookup cache's fill guards: a database read takes a token (the invalidation count when it
// began), and its fill skips exactly the items invalidated since then. Guards are per item and
// per space, so a stream of writes to some items never discards fills of the others (in this
// space or any other); they are kept only while a read older than them is in flight.

export class FillGuards {
  /** invalidations so far */
  private seq = 0;
  /** space → item → the invalidation count when it was last invalidated */
  private invalidated = new Map<string, Map<string, number>>();
  /** reads older than this fill nothing (a clear, or a space dropped whole) */
  private clearedAt = 0;
  /** read token → reads in flight that hold it */
  private reads = new Map<number, number>();

  /** A token for a read whose result will be filled in. */
  begin(): number {
    this.reads.set(this.seq, (this.reads.get(this.seq) ?? 0) + 1);
    return this.seq;
  }

  /** The read ended (filled or not): guards no read in flight is older than are dropped. */
  end(token: number): void {
    const n = (this.reads.get(token) ?? 1) - 1;
    if (n > 0) this.reads.set(token, n);
    else this.reads.delete(token);
    if (this.reads.size === 0) this.invalidated.clear();
    else {
      const oldest = Math.min(...this.reads.keys());
      for (const [space, guard] of this.invalidated) {
        for (const [id, s] of guard) if (s <= oldest) guard.delete(id);
        if (guard.size === 0) this.invalidated.delete(space);
      }
    }
  }

  /** Whether a read with `token` may fill anything at all. */
  mayFill(token: number): boolean {
    return this.clearedAt <= token;
  }

  /** The check of one read's items in `space`: true for those invalidated since `token`. */
  staleSince(space: string, token: number): (id: string) => boolean {
    const guard = this.invalidated.get(space);
    return (id) => (guard?.get(id) ?? -1) > token;
  }

  /** One invalidation of `ids` in `space` (guarded only while reads are in flight). */
  invalidate(space: string, ids: readonly string[]): void {
    this.seq++;
    if (this.reads.size === 0 || ids.length === 0) return;
    let guard = this.invalidated.get(space);
    if (!guard) this.invalidated.set(space, (guard = new Map()));
    for (const id of ids) guard.set(id, this.seq);
  }

  /** Every read in flight fills nothing, whichever ids it read (a space dropped whole). */
  discardInFlight(): void {
    this.clearedAt = this.seq;
  }

  /** The cache was emptied: one more invalidation, and every read in flight fills nothing. */
  cleared(): void {
    this.seq++;
    this.discardInFlight();
  }
}
