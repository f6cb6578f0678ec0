// Runs a training on a worker thread and relays its progress; resolves with the artifact.
// Threads are kept warm between runs: starting one (the TS loader from source, TF.js,
// the backend) costs more CPU than a quick training. A thread whose run failed is ended
// (its state is unknown); an idle one ends after IDLE_MS and never keeps the process alive.
import { Worker } from 'node:worker_threads';
import type { TrainThreadInput, TrainThreadMessage } from './train-thread.js';

const IDLE_MS = 60_000;

interface Idle {
  worker: Worker;
  timer: NodeJS.Timeout;
  stopWatching?: () => void;
}
const idle: Idle[] = [];

function startThread(): Worker {
  // From source (tsx) the thread needs a bootstrap that registers the TS loader.
  const url = new URL(import.meta.url.endsWith('.ts') ? './train-thread-boot.mjs' : './train-thread.js', import.meta.url);
  return new Worker(url);
}

function takeThread(): Worker {
  const warm = idle.pop();
  if (!warm) return startThread();
  clearTimeout(warm.timer);
  warm.stopWatching?.();
  warm.worker.ref();
  return warm.worker;
}

function putBack(worker: Worker): void {
  const drop = () => {
    const i = idle.indexOf(entry);
    if (i >= 0) idle.splice(i, 1);
    clearTimeout(entry.timer);
    void worker.terminate();
  };
  const entry: Idle = { worker, timer: setTimeout(drop, IDLE_MS).unref() };
  // An idle thread that fails or exits is simply not reused; no run is waiting on it.
  worker.once('error', drop);
  worker.once('exit', drop);
  entry.stopWatching = () => {
    worker.off('error', drop);
    worker.off('exit', drop);
  };
  worker.unref();
  idle.push(entry);
}

export function runTrainingThread(
  input: TrainThreadInput,
  onProgress: (fraction: number, phase: string) => void,
): Promise<{ artifact: unknown; backend: string }> {
  return new Promise((resolve, reject) => {
    const worker = takeThread();
    // Only our own listeners come off: Worker keeps internal ones (removeAllListeners
    // would leave the thread deaf to its next run).
    const detach = () => {
      worker.off('message', onMessage);
      worker.off('error', fail);
      worker.off('exit', onExit);
    };
    const fail = (err: Error) => {
      detach();
      void worker.terminate();
      reject(err);
    };
    const onExit = (code: number) => fail(new Error(`training thread exited with code ${code}`));
    const onMessage = (m: TrainThreadMessage) => {
      if (m.type === 'progress') onProgress(m.fraction, m.phase);
      else if (m.type === 'done') {
        detach();
        putBack(worker);
        resolve({ artifact: m.artifact, backend: m.backend });
      } else fail(new Error(m.message));
    };
    worker.on('message', onMessage);
    worker.on('error', fail);
    worker.on('exit', onExit);
    worker.postMessage(input);
  });
}
