// The requests/min and tokens/min budgets shared by every process through Redis:
// LLM_RPM / LLM_TPM are the provider's limits for the whole deployment, so N worker
// processes with buckets of their own would send N times as much. Two token buckets
// live in one hash (`${prefix}:llm:rate:<model>`), changed only by Lua scripts: one
// round trip, atomic, on Redis' clock so that processes whose clocks differ still
// agree. The bookkeeping is the local buckets' debt model, so waiters across
// processes are served in arrival order without a queue.
//
// Redis unreachable (down, restarting, too slow): this process falls back to its own
// buckets, which are kept booked all along, rather than failing every call.
import type { Redis } from 'ioredis';
import { llmRateLimitShared } from './metrics.js';
import type { LocalBuckets, RateBuckets, RateOptions, ReserveResult } from './rate-limit.js';
import type { Logger } from './types.js';

// Shared by both scripts: load (refilled to now), save (kept until both buckets would be
// full again: past that, no key means the same thing, so idle keys cost no memory).
const BUCKETS_LUA = `
if redis.replicate_commands then redis.replicate_commands() end
local key = KEYS[1]
local rpm, tpm = tonumber(ARGV[1]), tonumber(ARGV[2])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local s = redis.call('HMGET', key, 'r', 'k', 'at')
local r, k, at = tonumber(s[1]), tonumber(s[2]), tonumber(s[3])
if r == nil or k == nil or at == nil then r, k, at = rpm, tpm, now end
local elapsed = math.max(0, now - at)
r = math.min(rpm, r + elapsed * rpm / 60000)
k = math.min(tpm, k + elapsed * tpm / 60000)
local function save()
  local ttl = 1000
  if rpm > 0 then ttl = math.max(ttl, math.ceil((rpm - r) * 60000 / rpm)) end
  if tpm > 0 then ttl = math.max(ttl, math.ceil((tpm - k) * 60000 / tpm)) end
  redis.call('HSET', key, 'r', tostring(r), 'k', tostring(k), 'at', tostring(now))
  redis.call('PEXPIRE', key, ttl + 1000)
end
local function wait_for(balance, per, need)
  if per <= 0 then return 0 end
  local debt = math.min(need, per) - balance
  if debt <= 0 then return 0 end
  return math.ceil(debt * 60000 / per)
end
`;

/** ARGV: rpm, tpm, tokens, maxWaitMs → {granted 0|1, waitMs}. Nothing is booked when refused. */
const RESERVE_LUA = `${BUCKETS_LUA}
local n, max_wait = tonumber(ARGV[3]), tonumber(ARGV[4])
local wait = math.max(wait_for(r, rpm, 1), wait_for(k, tpm, n))
if wait > max_wait then return {0, wait} end
if rpm > 0 then r = r - 1 end
if tpm > 0 then k = k - math.min(n, tpm) end
save()
return {1, wait}
`;

/** ARGV: rpm, tpm, delta (positive: used more than booked). */
const ADJUST_LUA = `${BUCKETS_LUA}
if tpm > 0 then k = math.min(tpm, k - tonumber(ARGV[3])) end
save()
return 1
`;

const RESERVE = 'emerflowLlmRateReserve';
const ADJUST = 'emerflowLlmRateAdjust';

type ScriptCommands = Record<typeof RESERVE | typeof ADJUST, (key: string, ...args: (string | number)[]) => Promise<unknown>>;

/** The key of a model's buckets; under QUEUE_PREFIX, so a hash-tagged prefix keeps it on the queues' Redis Cluster slot. */
export function rateKey(prefix: string, model: string): string {
  return `${prefix}:llm:rate:${model}`;
}

export interface SharedBucketsOptions extends RateOptions {
  redis: Redis;
  key: string;
  /** This process's own buckets: booked all along, decisive while Redis does not answer. */
  local: LocalBuckets;
  log: Logger;
  /** Labels the gauge that says which buckets decide. */
  model: string;
  /** Longest wait for Redis before falling back (a hung server must not hold up every call). */
  redisTimeoutMs?: number;
}

export class SharedBuckets implements RateBuckets {
  private readonly redis: Redis & ScriptCommands;
  private shared: boolean | undefined;

  constructor(private readonly o: SharedBucketsOptions) {
    // defineCommand: EVALSHA, and EVAL once when Redis does not know the script yet (after a restart).
    o.redis.defineCommand(RESERVE, { numberOfKeys: 1, lua: RESERVE_LUA });
    o.redis.defineCommand(ADJUST, { numberOfKeys: 1, lua: ADJUST_LUA });
    this.redis = o.redis as Redis & ScriptCommands;
  }

  async reserve(tokens: number, maxWaitMs: number): Promise<ReserveResult> {
    const { requestsPerMinute: rpm, tokensPerMinute: tpm, local } = this.o;
    let answer: unknown;
    try {
      answer = await this.bounded(this.redis[RESERVE](this.o.key, rpm, tpm, Math.ceil(tokens), Math.floor(maxWaitMs)));
    } catch (err) {
      this.mode(false, err as Error);
      return local.reserve(tokens, maxWaitMs);
    }
    const [granted, waitMs] = answer as [number, number];
    this.mode(true);
    if (!granted) return { granted: false, waitMs };
    // This process's share, so that a fallback starts from what it has spent lately.
    local.book(tokens);
    return {
      granted: true,
      reservation: {
        waitMs,
        adjust: (delta) => {
          local.tokens.adjust(delta);
          // Not awaited: the correction must not hold up the answer. Lost, it leaves the shared
          // bucket off by one estimate until it refills, which the next minute repairs anyway.
          this.bounded(this.redis[ADJUST](this.o.key, rpm, tpm, Math.round(delta))).catch((err: Error) =>
            this.o.log.debug({ err: err.message }, 'shared LLM rate limit: token correction not recorded in Redis'),
          );
        },
      },
    };
  }

  private bounded<T>(p: Promise<T>): Promise<T> {
    const ms = this.o.redisTimeoutMs ?? 1_000;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`Redis did not answer within ${ms} ms`)), ms);
    });
    return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
  }

  /** Logs and exposes each change between the shared buckets and this process's own. */
  private mode(shared: boolean, err?: Error): void {
    if (this.shared === shared) return;
    this.shared = shared;
    llmRateLimitShared.set({ model: this.o.model }, shared ? 1 : 0);
    if (shared) {
      this.o.log.debug({ key: this.o.key }, 'shared LLM rate limit: Redis answers; the budgets are shared by every process again');
      return;
    }
    // Debug, not warn: Redis being down is reported loudly elsewhere (readiness, BullMQ),
    // and falling back costs little, as the message says.
    this.o.log.debug(
      { key: this.o.key, err: err?.message },
      "shared LLM rate limit: Redis unreachable, using this process's own buckets. Safe: each process still keeps LLM_RPM/LLM_TPM " +
        "on its own (at worst the processes together send a multiple of it, as without a shared limit, and the endpoint's 429s " +
        'are retried with backoff and open the breaker), and while Redis is down BullMQ hands out no new jobs, so only jobs ' +
        'already running call the LLM',
    );
  }
}
