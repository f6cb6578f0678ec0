// promote: a staging version of a space becomes its current one. Phases, each resumable
// (a killed worker's task is dispatched again and the job picks up from what Postgres
// holds): `fast path` (every emerging item gets a mapped vector within seconds), `training`
// (the version's own model, from its users and established items; activating it schedules
// every emerging item's embedding — the full path), `migrating` (waits until every emerging
// item serves an embedding of that model; enrichment the current version received meanwhile
// is brought over), `checking` (every served vector is finite), then the switch, in one
// transaction (pipeline/switch-version.ts). Events arriving meanwhile are written to both
// versions (migration 007) and refined in each. On failure the version goes back to staging.
import type { Job } from 'bullmq';
import { setTimeout as delay } from 'node:timers/promises';
import { getRun, updateRun } from '../db/train-runs.js';
import { activeModelOf } from '../db/models.js';
import { servedEmbeddingsPage } from '../db/embeddings.js';
import {
  emergingCount,
  getVersion,
  listVersions,
  migrationProgress,
  setFastPath,
  setVersionState,
  syncEnrichment,
  type VersionRow,
} from '../db/space-versions.js';
import type { Db } from '../db/pool.js';
import { withTx } from '../db/pool.js';
import { enqueue } from '../pipeline/enqueue.js';
import { requestTraining } from '../pipeline/request-training.js';
import { pruneVersions, switchVersion } from '../pipeline/switch-version.js';
import type { JobDeps } from './deps.js';
import { runFastPath } from './promote-fast-path.js';
import { PermanentError, taskProcessor } from './run-task.js';
import type { JobData } from './queues.js';

/** Where each phase's progress lies in the run's fraction. */
const SPAN = { fastPath: [0.02, 0.2], training: [0.2, 0.5], migrating: [0.5, 0.95], checking: [0.95, 0.99] } as const;
const at = (span: readonly [number, number], f: number) => span[0] + (span[1] - span[0]) * Math.min(1, Math.max(0, f));

export function promoteProcessor(deps: JobDeps): (job: Job<JobData>) => Promise<unknown> {
  const c = deps.config;
  return taskProcessor(
    'promote',
    deps,
    async (ctx) => {
      const task = ctx.tasks[0]!; // one task a job (the relay's batch for this queue is 1)
      const { space, version, run, seed } = task.payload;
      const trace = { requestId: task.payload.requestId };
      const state = (await getRun(deps.db, run))?.state;
      if (state === 'completed' || state === 'failed' || state === undefined) return { skipped: `run ${state ?? 'gone'}` };
      const v = await getVersion(deps.db, space, version);
      if (!v) throw new PermanentError(`version ${version} of space "${space}" no longer exists`);
      if (v.state === 'current') {
        // the switch committed, and the run with it; nothing is left to do
        return { skipped: 'already current' };
      }
      const current = (await listVersions(deps.db, space)).find((x) => x.state === 'current');
      if (!current) throw new PermanentError(`space "${space}" has no current version`);
      // (requestPromotion named this run on the version already)
      await setVersionState(deps.db, space, version, ['staging', 'migrating'], 'migrating');
      const result: Record<string, unknown> = { version, from: current.version };
      let last = 0;
      const progress = (fraction: number, phase: string, force = false) => {
        const now = Date.now();
        if (!force && now - last < 250) return; // throttle writes
        last = now;
        updateRun(deps.db, run, { state: 'running', progress: { fraction, phase }, result }).catch((err: Error) =>
          ctx.log.debug({ err: err.message }, 'progress not recorded (the next update carries it)'),
        );
      };

      // Fast path: once per promotion (its result is kept on the version).
      progress(SPAN.fastPath[0], 'fast path', true);
      if (!v.fastPath) {
        const emerging = (await emergingCount(deps.db, v.physicalId)) || 1;
        const fp = await runFastPath(deps.db, current.physicalId, v.physicalId, c.PROMOTE_FAST_PATH_BATCH, (n) =>
          progress(at(SPAN.fastPath, n / emerging), 'fast path'),
        );
        await setFastPath(deps.db, space, version, fp);
        result['fastPath'] = fp;
      } else result['fastPath'] = v.fastPath;

      // Training: the version's own model (once: a version with an active model has one).
      const model = await trainVersion(deps, v, seed, trace, (f) => progress(at(SPAN.training, f), 'training'));
      result['modelVersion'] = model.version;

      // Migrating: every emerging item reaches an embedding of the version's model.
      let migration;
      let pause = c.PROMOTE_POLL_MS;
      for (;;) {
        const synced = await syncEnrichment(deps.db, current.physicalId, v.physicalId);
        if (synced.length)
          await withTx(deps.db, (tx) =>
            enqueue(
              tx,
              'embed',
              synced.map((item) => ({ space: v.physicalId, item })),
              trace,
            ),
          );
        const asked = performance.now();
        migration = await migrationProgress(deps.db, v.physicalId, model.id);
        // its counts grow with the version: polled at most a fifth of the time, the rest is the migration's
        pause = Math.max(c.PROMOTE_POLL_MS, 4 * (performance.now() - asked));
        if (migration.dead > 0)
          throw new PermanentError(`${migration.dead} embed or refine tasks of version ${version} failed for good; see /metrics`);
        progress(at(SPAN.migrating, migration.emerging ? 1 - migration.waiting / migration.emerging : 1), 'migrating');
        if (migration.waiting === 0) break;
        await delay(pause);
      }
      result['migrated'] = migration.emerging;
      // Refinements of events that arrived meanwhile may still be pending: they are tasks
      // of the version in Postgres, and carry on after the switch.
      result['refineBacklogAtSwitch'] = migration.pending;

      // Checking: every vector the version would serve is finite.
      progress(SPAN.checking[0], 'checking', true);
      const bad = await nonFiniteServed(deps.db, v.physicalId);
      if (bad.length) throw new PermanentError(`version ${version} serves non-finite vectors (items ${bad.slice(0, 5).join(', ')})`);

      progress(SPAN.checking[1], 'switching', true);
      const sw = await switchVersion(deps.db, space, version, c.VERSIONS_KEEP_RETIRED, trace, async (tx, r) => {
        Object.assign(result, { switched: r.switched, caughtUpItems: r.caughtUp, pruned: r.pruned.map((p) => p.version) });
        await updateRun(tx, run, { state: 'completed', progress: { fraction: 1, phase: 'done' }, result, error: null });
        await ctx.complete(tx, [task]);
      });
      deps.versionsChanged?.(space);
      await pruneVersions(deps.db, space, sw.pruned);
      ctx.log.info({ space, ...result }, sw.switched ? 'version promoted' : 'version not promoted');
      return result;
    },
    {
      // The version goes back to staging once the task layer gives up (or at once for a permanent failure).
      async onFailed(tasks, err, dead) {
        for (const t of tasks) {
          const message = err.message.split('\n')[0] ?? err.message;
          const final = dead.includes(t.key);
          try {
            if (final) await setVersionState(deps.db, t.payload.space, t.payload.version, ['migrating'], 'staging');
            await updateRun(
              deps.db,
              t.payload.run,
              final ? { state: 'failed', error: message } : { state: 'queued', error: `retrying after: ${message}` },
            );
          } catch (e) {
            deps.log.warn({ err: (e as Error).message, run: t.payload.run }, 'could not record the promotion failure');
          }
        }
      },
    },
  );
}

/** The version's active model, training one first if it has none; `progress` follows the training run. */
async function trainVersion(
  deps: JobDeps,
  v: VersionRow,
  seed: number,
  trace: { requestId?: string | undefined },
  progress: (f: number) => void,
): Promise<{ id: number; version: number }> {
  const active = () => activeModelOf(deps.db, v.physicalId);
  const had = await active();
  if (had) return had;
  // One run (asking again while one is queued or running answers it), followed to its end.
  const { run } = await requestTraining(deps.db, v.physicalId, seed, trace);
  for (;;) {
    const r = await getRun(deps.db, run);
    if (!r || r.state === 'failed') throw new PermanentError(`training version ${v.version} failed: ${r?.error ?? 'its run is gone'}`);
    if (r.state === 'completed') {
      const res = r.result as { activated?: boolean; gate?: { reason?: string } } | null;
      const m = await active();
      if (res?.activated === false || !m)
        throw new PermanentError(`the model of version ${v.version} was refused: ${res?.gate?.reason ?? '?'}`);
      return m;
    }
    progress(r.progress.fraction);
    await delay(deps.config.PROMOTE_POLL_MS);
  }
}

/** Ids of items whose served vector in `physical` has a non-finite value (first few). */
async function nonFiniteServed(db: Db, physical: string): Promise<string[]> {
  const bad: string[] = [];
  let after = '';
  for (;;) {
    const page = await servedEmbeddingsPage(db, physical, after, 2000);
    for (const e of page) if (!e.vector.every(Number.isFinite)) bad.push(e.id);
    if (page.length < 2000 || bad.length >= 5) return bad;
    after = page[page.length - 1]!.id;
  }
}
