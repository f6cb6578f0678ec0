// Starts the training thread and relays its progress; resolves with the artifact.
import { Worker } from 'node:worker_threads';
import type { TrainThreadInput, TrainThreadMessage } from './train-thread.js';

export function runTrainingThread(
  input: TrainThreadInput,
  onProgress: (fraction: number, phase: string) => void,
): Promise<{ artifact: unknown; backend: string }> {
  return new Promise((resolve, reject) => {
    // From source (tsx) the thread needs a bootstrap that registers the TS loader.
    const url = new URL(import.meta.url.endsWith('.ts') ? './train-thread-boot.mjs' : './train-thread.js', import.meta.url);
    const worker = new Worker(url, { workerData: input });
    let settled = false;
    worker.on('message', (m: TrainThreadMessage) => {
      if (m.type === 'progress') onProgress(m.fraction, m.phase);
      else if (m.type === 'done') {
        settled = true;
        resolve({ artifact: m.artifact, backend: m.backend });
        void worker.terminate();
      } else {
        settled = true;
        reject(new Error(m.message));
        void worker.terminate();
      }
    });
    worker.on('error', (err) => {
      if (!settled) {
        settled = true;
        reject(err);
      }
    });
    worker.on('exit', (code) => {
      if (!settled) {
        settled = true;
        reject(new Error(`training thread exited with code ${code}`));
      }
    });
  });
}
