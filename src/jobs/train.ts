// train: learns the space's model (encoder state, aligner, meta-refiner) from its
// established items in a worker thread, then hands it to pipeline/activate-model, which
// stores it as the next version, activates it and schedules a re-embedding of every
// emerging item — in one transaction — and then heals what that transaction could miss.
import type { Job } from 'bullmq';
import { getSpace } from '../db/spaces.js';
import { getRun, updateRun } from '../db/train-runs.js';
import { encoderIdOf } from '../model/encoder.js';
import type { ModelArtifact } from '../model/artifact.js';
import { activateModel, healSpace } from '../pipeline/activate-model.js';
import type { JobDeps } from './deps.js';
import { encoderName } from './model-cache.js';
import { prepareTraining } from './training-data.js';
import { runTrainingThread } from './run-training.js';
import { taskProcessor } from './run-task.js';
import type { JobData } from './queues.js';

export function trainProcessor(deps: JobDeps): (job: Job<JobData>) => Promise<unknown> {
  return taskProcessor(
    'train',
    deps,
    async (ctx) => {
      const task = ctx.tasks[0]!; // one task a job (the relay's batch for this queue is 1)
      const { space: spaceId, run, seed } = task.payload;
      const space = await getSpace(deps.db, spaceId);
      if (!space) return { skipped: 'space gone' }; // its runs went with it (ON DELETE CASCADE)
      const state = (await getRun(deps.db, run))?.state;
      if (state === 'completed' || state === 'failed') return { skipped: `run already ${state}` };
      let last = 0;
      const progress = (fraction: number, phase: string) => {
        const now = Date.now();
        if (now - last < 250 && fraction < 1) return; // throttle writes
        last = now;
        updateRun(deps.db, run, { state: 'running', progress: { fraction, phase } }).catch((err: Error) =>
          ctx.log.debug({ err: err.message }, 'progress not recorded (the next update carries it)'),
        );
      };
      progress(0, 'loading');
      const prepared = await prepareTraining(deps.db, spaceId, space.dim, deps.llm, (f) => progress(0.1 * f, 'encoding'));
      const { artifact, backend } = await runTrainingThread(
        {
          data: prepared.data,
          seed,
          encoder: prepared.encoderState,
          fit: prepared.fit,
          preset: deps.config.TRAIN_PRESET,
          backend: deps.config.TENSOR_BACKEND,
        },
        (f, phase) => progress(0.1 + 0.85 * f, phase),
      );
      const art = artifact as ModelArtifact;
      const encoder = encoderName(encoderIdOf(art.encoder));
      const { modelId, activated, result } = await activateModel(
        deps.db,
        { spaceId, run, encoder, seed, artifact: art, metrics: art.metrics, gateTolerance: deps.config.MODEL_GATE_TOLERANCE },
        (model, reembedding, gate) => ({
          modelVersion: model.version,
          activated: gate.activate,
          gate,
          backend,
          encoder,
          metrics: art.metrics,
          counts: prepared.counts,
          reembedding,
        }),
        (tx) => ctx.complete(tx, [task]),
        { requestId: task.payload.requestId },
      );
      if (!activated) {
        ctx.log.warn({ space: spaceId, run, ...result }, 'model trained and kept inactive: the gate refused it');
        return result;
      }
      const healed = await healSpace(deps.db, spaceId, modelId);
      ctx.log.info({ space: spaceId, run, healed, ...result }, 'model trained and activated');
      return result;
    },
    {
      // The task layer retries: the run shows the latest error meanwhile, and `failed` once it gives up.
      async onFailed(tasks, err, dead) {
        for (const t of tasks) {
          const message = err.message.split('\n')[0] ?? err.message;
          const final = dead.includes(t.key);
          await updateRun(
            deps.db,
            t.payload.run,
            final ? { state: 'failed', error: message } : { state: 'queued', error: `retrying after: ${message}` },
          ).catch((e: Error) => deps.log.warn({ err: e.message, run: t.payload.run }, 'could not record the training failure'));
        }
      },
    },
  );
}
