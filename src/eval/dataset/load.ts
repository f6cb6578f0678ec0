// One entry point for every dataset the evaluation reads: the built-in ml-100k, or a directory in
// the generic layout (docs/datasets.md).
import type { TextMode } from '../text.js';
import { readDatasetDir } from './generic.js';
import { ML_100K, ml100kDataset } from './ml-100k.js';
import type { Dataset } from './types.js';

export interface LoadOptions {
  /** the shared data folder: ml-100k and its text sources live there */
  dataDir: string;
  /**
   * Item text for EmerFlow. 'none' drops it. For ml-100k, 'llm' and 'imdb' pick the text source; a
   * directory has one source, items.jsonl's `text`, which both mean.
   */
  text: TextMode;
  /** rating ≥ positive is a positive interaction (default 4); files with a label column ignore it */
  positive?: number;
}

/** `spec`: `ml-100k`, or a directory path (write `./ml-100k` for a directory of that name). */
export function loadDataset(spec: string, o: LoadOptions): Dataset {
  const positive = o.positive ?? 4;
  if (spec === ML_100K) return ml100kDataset(o.dataDir, o.text, positive);
  const ds = readDatasetDir(spec, positive);
  return o.text === 'none' ? { ...ds, items: ds.items.map((it) => ({ ...it, text: null })) } : ds;
}
