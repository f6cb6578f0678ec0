// Runs model training in a worker thread: TF.js work is synchronous and long, and on
// the main thread it would stall HTTP and BullMQ's lock renewal.
import { parentPort, workerData } from 'node:worker_threads';
import { backendPreference } from '../model/backend.js';
import { initBackend, trainEmerFlow, type TrainingData, type EncoderState, type TrainingPreset } from '../model/index.js';

export interface TrainThreadInput {
  data: TrainingData;
  seed: number;
  encoder: EncoderState;
  k?: number;
  preset?: TrainingPreset;
  backend?: Parameters<typeof backendPreference>[0];
}
export type TrainThreadMessage =
  | { type: 'progress'; fraction: number; phase: string }
  | { type: 'done'; artifact: unknown; backend: string }
  | { type: 'error'; message: string };

async function main(): Promise<void> {
  const input = workerData as TrainThreadInput;
  const backend = await initBackend(backendPreference(input.backend ?? 'auto'));
  const artifact = await trainEmerFlow(input.data, {
    seed: input.seed,
    encoder: input.encoder,
    ...(input.k ? { k: input.k } : {}),
    ...(input.preset ? { preset: input.preset } : {}),
    onProgress: (fraction, phase) => parentPort!.postMessage({ type: 'progress', fraction, phase } satisfies TrainThreadMessage),
  });
  parentPort!.postMessage({ type: 'done', artifact, backend: backend.name } satisfies TrainThreadMessage);
}

main().catch((err: Error) => parentPort!.postMessage({ type: 'error', message: err.stack ?? err.message } satisfies TrainThreadMessage));
