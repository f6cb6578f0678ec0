// Checks the schema cannot express: lengths against the space's dimension, batch sizes.
import { ApiError } from './errors.js';

export function checkBatch(field: string, n: number, limit: number): void {
  if (n > limit) throw new ApiError(413, 'batch_too_large', `${field} has ${n} entries; at most ${limit} per request`);
}

export function checkVector(field: string, v: number[], dim: number): void {
  if (v.length !== dim) throw new ApiError(400, 'invalid_request', `${field} has ${v.length} numbers; the space's dim is ${dim}`);
  for (let i = 0; i < v.length; i++) {
    if (!Number.isFinite(v[i])) throw new ApiError(400, 'invalid_request', `${field}[${i}] is not a finite number`);
  }
}
