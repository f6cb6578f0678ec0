// Runs model training in a worker thread: TF.js work is synchronous and long, and on
// the main thread it would stall HTTP and BullMQ's lock renewal. The thread serves one
// run after another (see run-training.ts): its loader, TF.js and backend are paid once.
import { parentPort } from 'node:worker_threads';
import { backendPreference } from '../model/backend.js';
import {
  fitHashedTfidf,
  initBackend,
  tf,
  trainEmerFlow,
  type TrainingData,
  type EncoderState,
  type TrainingPreset,
} from '../model/index.js';

export interface TrainThreadInput {
  data: TrainingData;
  seed: number;
  /** the encoder the items' `r` came from; or, with `fit`, none yet */
  encoder: EncoderState | null;
  /** fit the offline encoder on `corpus` here and encode `texts` into data.items[i].r (training-data.ts) */
  fit?: { texts: string[]; corpus: string[] } | null;
  k?: number;
  preset?: TrainingPreset;
  backend?: Parameters<typeof backendPreference>[0];
}
export type TrainThreadMessage =
  | { type: 'progress'; fraction: number; phase: string }
  | { type: 'done'; artifact: unknown; backend: string }
  | { type: 'error'; message: string };

const port = parentPort!;
const post = (m: TrainThreadMessage) => port.postMessage(m);

async function train(input: TrainThreadInput): Promise<void> {
  const backend = await initBackend(backendPreference(input.backend ?? 'auto'));
  // A scope around the run frees whatever tensors it left behind, and the variables go
  // with it, so the next run on this thread starts from the same memory as the first.
  tf.engine().startScope();
  try {
    let encoder = input.encoder;
    if (input.fit) {
      post({ type: 'progress', fraction: 0, phase: 'encoding' });
      const fitted = fitHashedTfidf(input.fit.corpus);
      const r = fitted.encodeSync(input.fit.texts);
      input.data.items.forEach((it, i) => (it.r = r[i]!));
      encoder = fitted.state();
    }
    if (!encoder) throw new Error('a training run needs an encoder: its state, or texts to fit one on');
    const artifact = await trainEmerFlow(input.data, {
      seed: input.seed,
      encoder,
      ...(input.k ? { k: input.k } : {}),
      ...(input.preset ? { preset: input.preset } : {}),
      onProgress: (fraction, phase) => post({ type: 'progress', fraction, phase }),
    });
    post({ type: 'done', artifact, backend: backend.name });
  } finally {
    tf.engine().endScope();
    tf.disposeVariables();
  }
}

port.on('message', (input: TrainThreadInput) => {
  train(input).catch((err: Error) => post({ type: 'error', message: err.stack ?? err.message }));
});
