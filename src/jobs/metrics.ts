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
// LLM_SPACE_DAILY_TOKENS: how often spaces run out, and the enrichment that waits for the next UTC day.
export const llmBudgetSpent = new Counter({
  name: 'emerflow_llm_budget_spent_total',
  help: 'Spaces whose daily LLM token budget (LLM_SPACE_DAILY_TOKENS) ran out, once per space and UTC day.',
  registers: [registry],
});
export const llmBudgetParked = new Counter({
  name: 'emerflow_llm_budget_parked_total',
  help: 'Enrichment tasks parked, not sent to the LLM, because their space had spent its daily token budget.',
  registers: [registry],
});
export const llmBudgetUnparked = new Counter({
  name: 'emerflow_llm_budget_unparked_total',
  help: 'Enrichment tasks parked for a spent budget made due again by the sweeper once the UTC day turned.',
  registers: [registry],
});
// The live quality monitor: events scored, and those it could not score (a user with no vector).
export const qualityScored = new Counter({
  name: 'emerflow_quality_events_scored_total',
  help: 'Events of emerging items the quality monitor took, by outcome (scored, unscorable: no user vector).',
  labelNames: ['outcome'],
  registers: [registry],
});
// Outbound webhooks: each attempt's outcome (retried: it failed and another is scheduled;
// failed: the last one failed, or its process died on the last one).
export const webhookDeliveries = new Counter({
  name: 'emerflow_webhook_deliveries_total',
  help: 'Outbound webhook delivery attempts, by event and outcome (delivered, retried, failed).',
  labelNames: ['event', 'outcome'],
  registers: [registry],
});
