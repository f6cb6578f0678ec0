// Streams interaction events to a running service like an event pipeline does:
// batches of events with unique ids at a steady rate, each batch sent again (same ids)
// until the service answers 202, which says every event of the batch is stored
// (duplicates of an earlier attempt included). Keeps, per item, the ids accepted.
import { rng } from './fixtures.js';
import type { HttpClient } from './http-client.js';

export interface EventStreamOptions {
  space: string;
  itemIds: readonly string[];
  userIds: readonly string[];
  /** Events a second, over all senders. */
  ratePerSec: number;
  batchSize: number;
  /** Batches in flight at once (a pipeline's partitions). */
  senders: number;
  /** No item gets more events than this. */
  maxPerItem: number;
  /** How long one batch is sent again before it counts as never accepted. */
  maxResendMs: number;
  seed?: number;
}

export interface EventStreamStats {
  batches: number;
  events: number;
  /** Batches that needed more than one attempt. */
  resentBatches: number;
  maxAttempts: number;
  /** Events the service reported as duplicates (an earlier attempt of the batch had stored them). */
  duplicates: number;
}

export class EventStream {
  /** item id → ids of its events that were in a batch answered 202. */
  readonly accepted = new Map<string, Set<string>>();
  /** Batches that never got a 202 in maxResendMs: their events may or may not be stored. */
  readonly neverAccepted: { items: string[]; error: string }[] = [];
  /** Answers that do not add up (accepted + duplicates ≠ batch size). */
  readonly oddAnswers: string[] = [];
  readonly stats: EventStreamStats = { batches: 0, events: 0, resentBatches: 0, maxAttempts: 0, duplicates: 0 };
  private generated = new Map<string, number>();
  private seq = 0;
  private stopped = false;
  private waiters = new Set<() => void>();
  private running: Promise<void>[] = [];
  private readonly random: () => number;

  constructor(
    private readonly http: HttpClient,
    private readonly opts: EventStreamOptions,
  ) {
    this.random = rng(opts.seed ?? 12345);
    for (const id of opts.itemIds) {
      this.accepted.set(id, new Set());
      this.generated.set(id, 0);
    }
  }

  start(): void {
    for (let s = 0; s < this.opts.senders; s++) this.running.push(this.sender(s));
  }

  /** Stops making new batches and waits until every batch in flight got its 202 (or gave up). */
  async stop(): Promise<void> {
    this.stopped = true;
    for (const w of this.waiters) w();
    await Promise.all(this.running);
  }

  /** Items whose accepted set is not certain (a batch of theirs was never accepted). */
  uncertainItems(): Set<string> {
    return new Set(this.neverAccepted.flatMap((b) => b.items));
  }

  /**
   * Items are dealt from a shuffled deck, dealt again when it runs out: every item gets
   * events early on, and all about the same number.
   */
  private deck: string[] = [];

  private nextItem(): string | null {
    if (this.deck.length === 0) {
      this.deck = this.opts.itemIds.filter((id) => this.generated.get(id)! < this.opts.maxPerItem);
      for (let i = this.deck.length - 1; i > 0; i--) {
        const j = Math.floor(this.random() * (i + 1));
        [this.deck[i], this.deck[j]] = [this.deck[j]!, this.deck[i]!];
      }
    }
    return this.deck.pop() ?? null;
  }

  private nextBatch(): { id: string; userId: string; itemId: string; label: 0 | 1; ts: string }[] {
    const batch = [];
    const ts = new Date().toISOString();
    for (let i = 0; i < this.opts.batchSize; i++) {
      const itemId = this.nextItem();
      if (itemId === null) break;
      this.generated.set(itemId, this.generated.get(itemId)! + 1);
      const userId = this.opts.userIds[Math.floor(this.random() * this.opts.userIds.length)]!;
      batch.push({ id: `ev-${++this.seq}`, userId, itemId, label: (this.random() < 0.5 ? 1 : 0) as 0 | 1, ts });
    }
    return batch;
  }

  private async sender(index: number): Promise<void> {
    const period = (this.opts.batchSize * this.opts.senders * 1000) / this.opts.ratePerSec;
    // Senders start spread over one period, so batches arrive evenly.
    await this.pause((period * index) / this.opts.senders);
    while (!this.stopped) {
      const began = Date.now();
      const events = this.nextBatch();
      if (events.length === 0) return;
      try {
        const { res, attempts } = await this.http.until('POST', `/v1/spaces/${this.opts.space}/interactions`, { events }, 202, {
          maxMs: this.opts.maxResendMs,
        });
        for (const e of events) this.accepted.get(e.itemId)!.add(e.id);
        this.stats.batches++;
        this.stats.events += events.length;
        if (attempts > 1) this.stats.resentBatches++;
        this.stats.maxAttempts = Math.max(this.stats.maxAttempts, attempts);
        const { accepted, duplicates } = res.body as { accepted: number; duplicates: number };
        this.stats.duplicates += duplicates;
        if (accepted + duplicates !== events.length || (attempts === 1 && duplicates !== 0)) {
          this.oddAnswers.push(`batch of ${events.length} (attempt ${attempts}) answered ${JSON.stringify(res.body)}`);
        }
      } catch (err) {
        this.neverAccepted.push({ items: [...new Set(events.map((e) => e.itemId))], error: (err as Error).message });
      }
      await this.pause(period - (Date.now() - began));
    }
  }

  /** Waits `ms` (the stream's pace), or less if the stream is stopped meanwhile. */
  private pause(ms: number): Promise<void> {
    if (ms <= 0 || this.stopped) return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.waiters.delete(done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.waiters.add(done);
    });
  }
}
