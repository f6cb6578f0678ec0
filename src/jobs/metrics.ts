// Counters of the job layer: jobs finished, tasks dispatched by the relay and tasks done.
// dispatched / done over a backlog is the dispatches-per-task figure (≈ 1 when healthy).
import { Counter } from 'prom-client';
import { registry } from '../metrics.js';

export const jobCounter = new Counter({
  name: 'emerflow_jobs_total',
  help: 'BullMQ jobs finished, by queue and outcome.',
  labelNames: ['queue', 'outcome'],
  registers: [registry],
});
export const tasksDispatched = new Counter({
  name: 'emerflow_relay_dispatched_total',
  help: 'Tasks the relay dispatched to BullMQ, by queue.',
  labelNames: ['queue'],
  registers: [registry],
});
export const tasksDone = new Counter({
  name: 'emerflow_tasks_done_total',
  help: 'Tasks completed (deleted from the outbox), by queue.',
  labelNames: ['queue'],
  registers: [registry],
});
export const tasksRecovered = new Counter({
  name: 'emerflow_relay_recovered_total',
  help: 'Tasks released again by the relay: expired leases or jobs Redis lost, by reason.',
  labelNames: ['reason'],
  registers: [registry],
});
