// Waiting for a training run or a promotion: GET /v1/jobs/:id until it has completed or
// failed, telling the caller each time its progress moves.
import type { JobView } from '../api/contract.js';

export interface Progress {
  /** 0 … 1 */
  fraction: number;
  /** e.g. queued, training, fast path, migrating, checking, switching */
  phase: string;
}

export interface WaitOptions {
  onProgress?: (p: Progress) => void;
  /** Between two looks at the job (default 500 ms). */
  pollMs?: number;
}

/** Resolves with the job once it is completed or failed; a failed job is returned, not thrown (see its `error`). */
export async function waitForJob(get: () => Promise<JobView>, opts: WaitOptions = {}): Promise<JobView> {
  let last = '';
  for (;;) {
    const job = await get();
    const p = { fraction: job.progress.fraction, phase: job.progress.phase };
    const seen = `${p.fraction} ${p.phase}`;
    if (seen !== last) opts.onProgress?.(p);
    last = seen;
    if (job.state === 'completed' || job.state === 'failed') return job;
    await new Promise((r) => setTimeout(r, opts.pollMs ?? 500));
  }
}
