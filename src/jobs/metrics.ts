import { Counter } from 'prom-client';
import { registry } from '../metrics.js';

export const jobCounter = new Counter({ name: 'emerflow_jobs_total', help: 'BullMQ jobs finished, by queue and outcome.', labelNames: ['queue', 'outcome'], registers: [registry] });
