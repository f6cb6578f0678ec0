// Client-side limits: requests/min and tokens/min token buckets plus a
// concurrency cap. Staying under the provider's limits is cheaper than being
// told so by 429s, and a self-hosted server is protected from a burst of jobs.
// Waiting is bounded: a wait longer than `maxWaitMs` fails fast with a
// retryable rate_limit so the job goes back to Postgres instead of piling up
// in memory.
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
  private readonly requests: TokenBucket;
  private readonly tokens: TokenBucket;
  private inFlight = 0;
  private readonly waiters: Waiter[] = [];
  private readonly sleeping = new Map<NodeJS.Timeout, (e: Error) => void>();
  private closed = false;

  constructor(
    private readonly opts: { requestsPerMinute: number; tokensPerMinute: number; concurrency: number },
    now: () => number = Date.now,
  ) {
    this.requests = new TokenBucket(opts.requestsPerMinute, now);
    this.tokens = new TokenBucket(opts.tokensPerMinute, now);
  }

  async acquire(estimatedTokens: number, maxWaitMs: number): Promise<Permit> {
    const start = Date.now();
    await this.slot(maxWaitMs);
    try {
      const left = maxWaitMs - (Date.now() - start);
      const wait = Math.max(this.requests.waitFor(1), this.tokens.waitFor(estimatedTokens));
      if (wait > left) {
        throw new LlmError('rate_limit', `local rate limit: would wait ${wait} ms (limit ${Math.max(0, left)} ms)`, { retryAfterMs: wait });
      }
      this.requests.take(1);
      this.tokens.take(estimatedTokens);
      if (wait > 0) await this.delay(wait);
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
        if (actualTokens !== undefined) this.tokens.adjust(actualTokens - estimatedTokens);
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
