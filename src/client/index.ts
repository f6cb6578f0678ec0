// emerflow/client: the typed client of the EmerFlow HTTP API (docs/client.md). No runtime
// dependencies: it needs a global fetch (Node.js 20+) and nothing else.
export { createClient, type ClientOptions, type EmerFlowClient, type TrainOptions, type VersionPin } from './client.js';
export { EmerFlowError, isStatus } from './errors.js';
export type { Float32Lookup } from './float32.js';
export type { Progress, WaitOptions } from './jobs.js';
export { LIMITS } from '../api/limits.js';
export type * from '../api/contract.js';
