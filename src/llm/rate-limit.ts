// Client-side limits: requests/min and tokens/min token buckets plus a
// concurrency cap. Staying under the provider's limits is cheaper than being
// told so by 429s, and a self-hosted server is protected from a burst of jobs.
// Waiting is bounded: a wait longer than `maxWaitMs` fails fast with a
// retryable rate_limit so the job goes back to Postgres instead of piling up
// in memory. The buckets are this process's own (LocalBuckets) or shared by
// every process through Redis (shared-rate-limit.ts); the concurrency cap is
// always per process, since it protects this process's sockets and memory.
import { LlmError } from './errors.js';

/**
 * A bucket refilled continuously at `perMinute`, holding at most one minute's
 * worth. Takers reserve by going into debt and wait until the debt is repaid,
 * which serves concurrent waiters in arrival order without a queue.
 */
export class TokenBucket {
  private balance: number;
  private last: number;

  constructor(
    readonly perMinute: number,
    private readonly now: () => number = Date.now,
  ) {
    this.balance = perMinute;
    this.last = now();
  }

  private refill(): void {
    const t = this.now();
    this.balance = Math.min(this.perMinute, this.balance + ((t - this.last) * this.perMinute) / 60_000);
    this.last = t;
  }

  /** Milliseconds until `n` could be taken; 0 when available now. */
  waitFor(n: number): number {
    if (this.perMinute <= 0) return 0;
    this.refill();
    const need = Math.min(n, this.perMinute) - this.balance;
    return need <= 0 ? 0 : Math.ceil((need * 60_000) / this.perMinute);
  }

  take(n: number): void {
    if (this.perMinute <= 0) return;
    this.refill();
    this.balance -= Math.min(n, this.perMinute);
  }

  /** Corrects an estimate once the real usage is known (positive: used more). */
  adjust(delta: number): void {
    if (this.perMinute <= 0 || delta === 0) return;
    this.refill();
    this.balance = Math.min(this.perMinute, this.balance - delta);
  }
}

/** One request's booking in the buckets. */
export interface Reservation {
  /** How long the caller must wait before sending (0: at once). */
  waitMs: number;
  /** Corrects the booked token count once the real usage is known (positive: used more). */
  adjust(delta: number): void;
}

export type ReserveResult = { granted: true; reservation: Reservation } | { granted: false; waitMs: number };

/** Where the requests/min and tokens/min budgets are kept. */
export interface RateBuckets {
  /**
   * Books one request and `tokens` when that means waiting at most `maxWaitMs`;
   * otherwise books nothing and says how long the wait would have been.
   */
  reserve(tokens: number, maxWaitMs: number): Promise<ReserveResult>;
}

export interface RateOptions {
  requestsPerMinute: number;
  tokensPerMinute: number;
}

/** The budgets of this process alone. */
export class LocalBuckets implements RateBuckets {
  readonly requests: TokenBucket;
  readonly tokens: TokenBucket;

  constructor(opts: RateOptions, now: () => number = Date.now) {
    this.requests = new TokenBucket(opts.requestsPerMinute, now);
    this.tokens = new TokenBucket(opts.tokensPerMinute, now);
  }

  waitFor(tokens: number): number {
    return Math.max(this.requests.waitFor(1), this.tokens.waitFor(tokens));
  }

  /** Books without asking: bookkeeping while another store (Redis) decides. */
  book(tokens: number): void {
    this.requests.take(1);
    this.tokens.take(tokens);
  }

  async reserve(tokens: number, maxWaitMs: number): Promise<ReserveResult> {
    const waitMs = this.waitFor(tokens);
    if (waitMs > maxWaitMs) return { granted: false, waitMs };
    this.book(tokens);
    return { granted: true, reservation: { waitMs, adjust: (d) => this.tokens.adjust(d) } };
  }
}

interface Waiter {
  resolve: () => void;
  reject: (e: Error) => void;
  timer: NodeJS.Timeout;
}

export interface Permit {
  /** Waited in total, for metrics. */
  waitedMs: number;
  /** Frees the concurrency slot and books the real token count. */
  release(actualTokens?: number): void;
}

export class RateLimiter {
  private readonly buckets: RateBuckets;
  private inFlight = 0;
  private readonly waiters: Waiter[] = [];
  private readonly sleeping = new Map<NodeJS.Timeout, (e: Error) => void>();
  private closed = false;

  constructor(
    private readonly opts: RateOptions & { concurrency: number },
    now: () => number = Date.now,
    buckets?: RateBuckets,
  ) {
    this.buckets = buckets ?? new LocalBuckets(opts, now);
  }

  async acquire(estimatedTokens: number, maxWaitMs: number): Promise<Permit> {
    const start = Date.now();
    await this.slot(maxWaitMs);
    let reservation: Reservation;
    try {
      const left = Math.max(0, maxWaitMs - (Date.now() - start));
      const r = await this.buckets.reserve(estimatedTokens, left);
      if (!r.granted) {
        throw new LlmError('rate_limit', `rate limit: would wait ${r.waitMs} ms (limit ${left} ms)`, { retryAfterMs: r.waitMs });
      }
      reservation = r.reservation;
      if (reservation.waitMs > 0) await this.delay(reservation.waitMs);
    } catch (err) {
      this.freeSlot();
      throw err;
    }
    let released = false;
    return {
      waitedMs: Date.now() - start,
      release: (actualTokens?: number) => {
        if (released) return;
        released = true;
        if (actualTokens !== undefined && actualTokens !== estimatedTokens) reservation.adjust(actualTokens - estimatedTokens);
        this.freeSlot();
      },
    };
  }

  /** Rejects every waiter; used on shutdown. */
  close(): void {
    this.closed = true;
    for (const w of this.waiters.splice(0)) {
      clearTimeout(w.timer);
      w.reject(new LlmError('connection', 'LLM client closed'));
    }
    for (const [t, reject] of this.sleeping) {
      clearTimeout(t);
      reject(new LlmError('connection', 'LLM client closed'));
    }
    this.sleeping.clear();
  }

  private slot(maxWaitMs: number): Promise<void> {
    if (this.closed) return Promise.reject(new LlmError('connection', 'LLM client closed'));
    if (this.inFlight < this.opts.concurrency) {
      this.inFlight++;
      return Promise.resolve();
    }
    return new Promise<void>((resolve, reject) => {
      const waiter: Waiter = {
        resolve,
        reject,
        timer: setTimeout(() => {
          const i = this.waiters.indexOf(waiter);
          if (i >= 0) this.waiters.splice(i, 1);
          reject(new LlmError('rate_limit', `local concurrency limit: no slot within ${maxWaitMs} ms`, { retryAfterMs: maxWaitMs }));
        }, maxWaitMs),
      };
      this.waiters.push(waiter);
    });
  }

  private freeSlot(): void {
    const next = this.waiters.shift();
    if (next) {
      // The slot passes straight to the next waiter: inFlight stays the same.
      clearTimeout(next.timer);
      next.resolve();
    } else {
      this.inFlight--;
    }
  }

  private delay(ms: number): Promise<void> {
    return new Promise((resolve, reject) => {
      if (this.closed) return reject(new LlmError('connection', 'LLM client closed'));
      const t = setTimeout(() => {
        this.sleeping.delete(t);
        resolve();
      }, ms);
      this.sleeping.set(t, reject);
    });
  }
}
