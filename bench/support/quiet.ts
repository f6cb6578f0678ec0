// A quiet machine before a measured run. On 2 cores, whatever else runs during a run is
// counted against whichever server is measured then: after a bulk load, Postgres's
// autovacuum of the new rows took 0.6-0.75 of a core for seconds at a time, a minute or two
// later, in the middle of the first phase, which runs the service first. So the load is
// vacuumed once (what an operator does after a bulk load, and autovacuum then has nothing to
// do), and each run waits until the machine is idle.
import pg from 'pg';
import { log, machineBusySeconds, sleep } from './harness.js';

/** VACUUM (ANALYZE) of the whole database; seconds taken. */
export async function settlePostgres(databaseUrl: string): Promise<number> {
  const t = performance.now();
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    await client.query('VACUUM (ANALYZE)');
  } finally {
    await client.end();
  }
  return (performance.now() - t) / 1000;
}

export interface QuietOptions {
  /** busy cores (all processes) below which the machine counts as quiet */
  maxBusyCores?: number;
  /** each sample's length */
  windowMs?: number;
  /** how long to wait at most; then the run goes ahead, and the log says so */
  timeoutMs?: number;
}

/**
 * Waits until one sample window of the whole machine (/proc/stat) is below `maxBusyCores`;
 * the busy cores of the last window. Without /proc it returns at once (undefined).
 */
export async function waitForQuiet(what: string, o: QuietOptions = {}): Promise<number | undefined> {
  const { maxBusyCores = 0.25, windowMs = 500, timeoutMs = 30_000 } = o;
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const b0 = machineBusySeconds();
    const t0 = performance.now();
    await sleep(windowMs);
    const b1 = machineBusySeconds();
    if (b0 === null || b1 === null) return undefined;
    const busy = (b1 - b0) / ((performance.now() - t0) / 1000);
    if (busy < maxBusyCores) return busy;
    if (performance.now() > deadline) {
      log(`  ${what}: the machine was still ${busy.toFixed(2)} cores busy after ${timeoutMs / 1000} s of waiting; measured anyway`);
      return busy;
    }
  }
}
