// A look inside Postgres for a bench window: which statements took its time, from
// pg_stat_statements. On when BENCH_PG_STATEMENTS=1 (the harness then preloads the
// extension); a figure to find where the cores go, not one that is judged.
import pg from 'pg';

export const PG_STATEMENTS = process.env['BENCH_PG_STATEMENTS'] === '1';

export interface StatementWindow {
  /** The top statements by time since the window began, and the commits per second, as lines (`seconds`: its length). */
  report(seconds: number, top?: number): Promise<string[]>;
  close(): Promise<void>;
}

export async function startStatementWindow(databaseUrl: string): Promise<StatementWindow> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  await client.query('CREATE EXTENSION IF NOT EXISTS pg_stat_statements');
  const commits = async () =>
    Number((await client.query<{ n: string }>('SELECT sum(xact_commit)::text AS n FROM pg_stat_database')).rows[0]!.n);
  await client.query('SELECT pg_stat_statements_reset()');
  const c0 = await commits();
  return {
    async report(seconds, top = 12) {
      const c1 = await commits();
      const r = await client.query<{ calls: string; ms: number; planMs: number; wal: string; query: string }>(
        `SELECT calls::text, total_exec_time AS ms, total_plan_time AS "planMs", wal_bytes::text AS wal,
                regexp_replace(query, '\\s+', ' ', 'g') AS query
         FROM pg_stat_statements WHERE query NOT LIKE '%pg_stat_statements%' ORDER BY total_exec_time DESC`,
      );
      const all = r.rows.reduce((a, s) => a + s.ms, 0);
      const plan = r.rows.reduce((a, s) => a + s.planMs, 0);
      const wal = r.rows.reduce((a, s) => a + Number(s.wal), 0);
      const calls = r.rows.reduce((a, s) => a + Number(s.calls), 0);
      return [
        `Postgres, ${seconds.toFixed(0)} s: ${(all / 1000 / seconds).toFixed(2)} cores of statement time (lock waits included), ` +
          `${(plan / 1000 / seconds).toFixed(2)} of planning, ${(wal / seconds / 1e6).toFixed(1)} MB/s of WAL, ` +
          `${(calls / seconds).toFixed(0)} statements/s, ${((c1 - c0) / seconds).toFixed(0)} commits/s`,
        ...r.rows
          .slice(0, top)
          .map(
            (s) =>
              `  ${(s.ms / seconds).toFixed(0).padStart(4)} ms/s  ${(Number(s.calls) / seconds).toFixed(0).padStart(4)} calls/s  ` +
              `${(s.ms / Number(s.calls)).toFixed(2).padStart(6)} ms/call  plan ${(s.planMs / Number(s.calls)).toFixed(2)} ms  ` +
              `${(Number(s.wal) / Number(s.calls) / 1000).toFixed(1)} kB WAL  ${s.query.slice(0, 90)}`,
          ),
      ];
    },
    close: () => client.end(),
  };
}
