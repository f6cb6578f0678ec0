// Interaction events arrive (event pipeline): stored once per event id, counted on their
// item, and each emerging item touched gets its refine task bumped — however many events
// it received, one refinement follows. One statement does all three (see
// db/interactions.ts recordEventsStatement for why).
//
// Requests for the same space are coalesced: while one statement runs, batches that arrive
// wait and are then written together in the next one. Concurrent batches of an event stream
// touch overlapping items; written side by side, each statement would wait for the row locks
// of the others, while one statement for all of them waits for nothing. If a merged statement
// fails, each request is tried on its own, so one request's failure is never another's.
import type { Db } from '../db/pool.js';
import { recordEventsStatement, type EventIn } from '../db/interactions.js';
import type { Trace } from './enqueue.js';

export interface RecordResult {
  accepted: number;
  duplicates: number;
}

interface Pending {
  events: EventIn[];
  requestId: string | undefined;
  resolve(r: RecordResult): void;
  reject(err: unknown): void;
}

/** Events a merged statement takes at most; a larger backlog goes in several. */
const MAX_MERGED_EVENTS = 20_000;

class SpaceWriter {
  private queue: Pending[] = [];
  private busy = false;

  constructor(
    private db: Db,
    private spaceId: string,
    private quality: { quality: boolean; qualitySamplePercent?: number },
  ) {}

  record(events: EventIn[], requestId: string | undefined): Promise<RecordResult> {
    return new Promise((resolve, reject) => {
      this.queue.push({ events, requestId, resolve, reject });
      if (!this.busy) void this.drain();
    });
  }

  private async drain(): Promise<void> {
    this.busy = true;
    try {
      while (this.queue.length) {
        const batch: Pending[] = [];
        let n = 0;
        while (this.queue.length && (batch.length === 0 || n + this.queue[0]!.events.length <= MAX_MERGED_EVENTS)) {
          const next = this.queue.shift()!;
          batch.push(next);
          n += next.events.length;
        }
        await this.write(batch);
      }
    } finally {
      this.busy = false;
    }
  }

  private async write(batch: Pending[]): Promise<void> {
    try {
      const inserted = await recordEventsStatement(
        this.db,
        this.spaceId,
        batch.flatMap((p) => p.events),
        { requestId: batch[0]!.requestId, ...this.quality },
      );
      // Each new event counts for the first request in the batch that carried it.
      for (const p of batch) {
        let accepted = 0;
        for (const e of p.events) if (inserted.delete(e.id)) accepted++;
        p.resolve({ accepted, duplicates: p.events.length - accepted });
      }
    } catch (err) {
      if (batch.length === 1) {
        batch[0]!.reject(err);
        return;
      }
      for (const p of batch) await this.write([p]);
    }
  }
}

const writers = new WeakMap<Db, Map<string, SpaceWriter>>();

/** `quality`: leave each event what the live quality monitor scores it with (QUALITY_MONITOR). */
export async function recordEvents(
  db: Db,
  spaceId: string,
  events: EventIn[],
  trace: Trace,
  opts: { quality: boolean; qualitySamplePercent?: number } = { quality: true },
): Promise<RecordResult> {
  let bySpace = writers.get(db);
  if (!bySpace) {
    bySpace = new Map();
    writers.set(db, bySpace);
  }
  let w = bySpace.get(spaceId);
  if (!w) {
    w = new SpaceWriter(db, spaceId, opts);
    bySpace.set(spaceId, w);
  }
  return w.record(events, trace.requestId);
}
