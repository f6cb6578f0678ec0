// The one way work is asked for: typed payloads per queue, keys derived from them, the
// request id carried into every follow-up. Call it inside the transaction that writes the
// data the work is about, so that neither exists without the other.
import type { Queryable } from '../db/pool.js';
import { enqueueTasks } from '../db/tasks.js';
import { taskKey, type Payloads, type QueueName } from '../jobs/queues.js';

/** Who asked: the HTTP request, or the job whose write caused this work. */
export interface Trace {
  requestId?: string | undefined;
}

export async function enqueue<Q extends QueueName>(tx: Queryable, queue: Q, payloads: Payloads[Q][], trace: Trace = {}): Promise<void> {
  if (payloads.length === 0) return;
  await enqueueTasks(
    tx,
    queue,
    payloads.map((p) => {
      const payload = trace.requestId && !p.requestId ? { ...p, requestId: trace.requestId } : p;
      return { key: taskKey[queue](payload as never), payload: payload as Record<string, unknown> };
    }),
  );
}
