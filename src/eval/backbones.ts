// Picks and trains a backbone by name.
import type { Backbone, BackboneOpts } from './backbone.js';
import type { ItemFeatures } from './features.js';
import type { Dataset } from './dataset/types.js';
import type { Row } from './protocol.js';
import { trainDot } from './backbone-dot.js';

export type BackboneKind = 'dot' | 'deepfm';

export interface BackboneData {
  nUsers: number;
  nItems: number;
  ds: Dataset;
  feats: ItemFeatures;
}

export async function trainBackbone(
  kind: BackboneKind,
  rows: Row[],
  d: BackboneData,
  o: BackboneOpts,
  onProgress?: (f: number) => void,
): Promise<Backbone> {
  if (kind === 'dot') return trainDot(rows, d.nUsers, d.nItems, o, onProgress);
  const { trainDeepFM } = await import('./backbone-deepfm.js');
  return trainDeepFM(rows, d, o, onProgress);
}
