// What enrichment cost each space per UTC day (migrations/004_llm_usage.sql), and the
// names shared by the job that parks a space's enrichment once its day is spent and the
// sweeper that wakes it when the day turns.
import type { Queryable } from './pool.js';

/** Parked reasons are `llm budget <day>`: the sweeper wakes those whose day is over. */
export const LLM_BUDGET_PARKED = 'llm budget ';

/** What an item waiting for its space's budget shows as its enrichError. */
export const LLM_BUDGET_CODE = 'llm_budget';

/** The UTC day of a moment, as Postgres `date` text (YYYY-MM-DD, which sorts as it counts). */
export function utcDay(ms: number): string {
  return new Date(ms).toISOString().slice(0, 10);
}

export function budgetParkReason(day: string): string {
  return `${LLM_BUDGET_PARKED}${day}`;
}

/** Tokens the space has spent on `day`. */
export async function tokensSpent(db: Queryable, spaceId: string, day: string): Promise<number> {
  const r = await db.query<{ tokens: string }>('SELECT tokens FROM llm_usage WHERE space_id = $1 AND day = $2::date', [spaceId, day]);
  return Number(r.rows[0]?.tokens ?? 0);
}

/**
 * Adds `tokens` to the space's day and returns the day's total (0 when the space is gone).
 * Its row is what every enrichment of the space writes: call it last in a transaction, so
 * that its lock is held only until the commit.
 */
export async function addTokens(db: Queryable, spaceId: string, day: string, tokens: number): Promise<number> {
  const r = await db.query<{ tokens: string }>(
    `INSERT INTO llm_usage (space_id, day, tokens) SELECT id, $2::date, $3 FROM spaces WHERE id = $1
     ON CONFLICT (space_id, day) DO UPDATE SET tokens = llm_usage.tokens + EXCLUDED.tokens
     RETURNING tokens`,
    [spaceId, day, Math.max(0, Math.round(tokens))],
  );
  return Number(r.rows[0]?.tokens ?? 0);
}
