// Trained models loaded once per worker process, keyed by model id. A model row never
// changes after it is written, so entries never go stale; only the newest few stay.
import { encoderFromState, loadModel, type EmerFlowRuntime, type ModelArtifact, type TextEncoder } from '../model/index.js';
import type { Db } from '../db/pool.js';
import { getModel } from '../db/models.js';
import type { LlmClient } from '../llm/index.js';

export interface LoadedModel {
  id: number;
  version: number;
  runtime: EmerFlowRuntime;
  encoder: TextEncoder;
  encoderName: string;
}

export class ModelCache {
  private entries = new Map<number, Promise<LoadedModel>>();

  constructor(
    private db: Db,
    private llm: LlmClient | null,
    private max = 4,
  ) {}

  get(id: number): Promise<LoadedModel> {
    let p = this.entries.get(id);
    if (!p) {
      p = this.load(id);
      p.catch(() => this.entries.delete(id));
      this.entries.set(id, p);
      while (this.entries.size > this.max) {
        const oldest = this.entries.keys().next().value as number;
        // A model that failed to load has nothing to dispose (its caller saw the error).
        const nothingToDispose = (): void => undefined;
        void this.entries.get(oldest)?.then((m) => m.runtime.dispose(), nothingToDispose);
        this.entries.delete(oldest);
      }
    }
    return p;
  }

  private async load(id: number): Promise<LoadedModel> {
    const row = await getModel(this.db, id);
    if (!row) throw new Error(`model ${id} not found`);
    const artifact = row.artifact as ModelArtifact;
    const encoder = encoderFromState(artifact.encoder) ?? this.llm?.embedder() ?? null;
    if (!encoder) throw new Error(`model ${id} needs the external encoder ${row.encoder}, but EMBEDDING_MODEL is not configured`);
    return { id, version: row.version, runtime: loadModel(artifact), encoder, encoderName: row.encoder };
  }
}

export function encoderName(id: { name: string; dim: number; version: string }): string {
  return `${id.name}@${id.version}/${id.dim}`;
}
