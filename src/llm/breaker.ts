// Circuit breaker over the endpoint. After `threshold` consecutive failed
// requests it refuses calls for `cooldownMs` without touching the network, so a
// dead or throttling endpoint costs nothing while items wait in Postgres; then
// one probe is let through (half-open) and its outcome closes or re-opens it.
import { LlmError } from './errors.js';

export type BreakerState = 'closed' | 'open' | 'half_open';

/** How a request ended, as far as the endpoint's health is concerned. */
export type BreakerOutcome = 'success' | 'failure' | 'neutral';

export class CircuitBreaker {
  private failures = 0;
  private openedAt = 0;
  private stateValue: BreakerState = 'closed';
  private probeInFlight = false;

  constructor(
    private readonly threshold: number,
    private readonly cooldownMs: number,
    private readonly onChange: (state: BreakerState) => void = () => {},
    private readonly now: () => number = Date.now,
  ) {}

  state(): BreakerState {
    // Open turns half-open by the clock alone, so that readers (metrics,
    // health checks) see the state a call would meet.
    if (this.stateValue === 'open' && this.now() - this.openedAt >= this.cooldownMs) this.set('half_open');
    return this.stateValue;
  }

  /**
   * Admits one request or throws breaker_open. The caller must report the
   * request's outcome through the returned function exactly once.
   */
  acquire(): (outcome: BreakerOutcome) => void {
    const s = this.state();
    if (s === 'open') {
      throw new LlmError('breaker_open', 'LLM circuit breaker is open', { retryAfterMs: this.cooldownMs - (this.now() - this.openedAt) });
    }
    if (s === 'half_open') {
      if (this.probeInFlight)
        throw new LlmError('breaker_open', 'LLM circuit breaker is half-open, probe in flight', { retryAfterMs: this.cooldownMs });
      this.probeInFlight = true;
      let done = false;
      return (outcome) => {
        if (done) return;
        done = true;
        this.probeInFlight = false;
        if (outcome === 'success') this.close();
        else if (outcome === 'failure') this.open();
        // neutral (e.g. the local rate limiter refused): the next call probes.
      };
    }
    let done = false;
    return (outcome) => {
      if (done) return;
      done = true;
      if (outcome === 'success') this.failures = 0;
      else if (outcome === 'failure') {
        this.failures++;
        if (this.failures >= this.threshold && this.stateValue === 'closed') this.open();
      }
    };
  }

  private open(): void {
    this.openedAt = this.now();
    this.failures = 0;
    this.set('open');
  }

  private close(): void {
    this.failures = 0;
    this.set('closed');
  }

  private set(s: BreakerState): void {
    if (s === this.stateValue) return;
    this.stateValue = s;
    this.onChange(s);
  }
}
