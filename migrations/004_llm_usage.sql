-- What enrichment cost each space per UTC day, in tokens (prompt + completion, as the LLM
-- reported them), for LLM_SPACE_DAILY_TOKENS: once a space's day is spent, its enrichment
-- tasks are parked until the day turns. Incremented in the transaction that stores the
-- enrichment it paid for, so a job run again after that commit never counts it twice.
CREATE TABLE llm_usage (
  space_id text   NOT NULL REFERENCES spaces (id) ON DELETE CASCADE,
  day      date   NOT NULL,
  tokens   bigint NOT NULL DEFAULT 0 CHECK (tokens >= 0),
  PRIMARY KEY (space_id, day)
);

-- The sweeper looks for parked tasks of one queue (enrichment parked for a spent budget)
-- every minute: through this index, never by reading every pending row.
CREATE INDEX tasks_parked ON tasks (queue, parked) WHERE parked IS NOT NULL;

-- Error texts stored before errors had stable codes could quote the LLM endpoint (its error
-- bodies), and API answers show them (an item's enrichError, a training run's error): they
-- become the code of their kind, the endpoint's words staying in the logs only.
UPDATE items SET enrich_error = CASE split_part(enrich_error, ':', 1)
    WHEN 'rate_limit' THEN 'llm_rate_limit'
    WHEN 'server' THEN 'llm_server'
    WHEN 'timeout' THEN 'llm_timeout'
    WHEN 'connection' THEN 'llm_unreachable'
    WHEN 'invalid_output' THEN 'llm_bad_answer'
    WHEN 'bad_request' THEN 'llm_bad_request'
    WHEN 'auth' THEN 'llm_auth'
    WHEN 'breaker_open' THEN 'llm_breaker_open'
    WHEN 'wrong_dimension' THEN 'llm_wrong_dimension'
    ELSE 'llm_error' END
WHERE enrich_error IS NOT NULL;
UPDATE train_runs SET error = regexp_replace(error, '(embed request|embed): .*$', '\1: the LLM endpoint failed (details in the logs)')
WHERE error ~ '(embed request|embed): ';
