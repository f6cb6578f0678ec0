// Whether a trained model may replace the active one: its weights must be finite, and its
// held-out loss (metaValLoss: the meta-refiner's loss on items held out of training,
// averaged over the refinement phases) not worse than the active model's beyond a
// relative tolerance. A model refused is still stored, and can be activated by hand.
// (model/artifact.ts directly: no TF.js in the processes that only decide)
import { nonFiniteWeight, type ModelArtifact } from '../model/artifact.js';

export interface GateDecision {
  activate: boolean;
  reason: string;
  heldOutLoss: number | null;
  activeHeldOutLoss: number | null;
  tolerance: number;
}

const LOSS = 'metaValLoss';

export function gateModel(candidate: ModelArtifact, active: { metrics: Record<string, unknown> } | null, tolerance: number): GateDecision {
  const loss = finite(candidate.metrics[LOSS]);
  const prev = active ? finite(active.metrics[LOSS]) : null;
  const d = { heldOutLoss: loss, activeHeldOutLoss: prev, tolerance };
  const bad = nonFiniteWeight(candidate);
  if (bad !== null) return { ...d, activate: false, reason: `weight ${bad} is not finite` };
  if (!active) return { ...d, activate: true, reason: 'the first model of this version of the space' };
  // too few established items hold none out: there is nothing to compare, and the weights are sound
  if (loss === null || prev === null) return { ...d, activate: true, reason: `no held-out ${LOSS} on both sides to compare` };
  if (loss <= prev * (1 + tolerance))
    return { ...d, activate: true, reason: `held-out loss ${fmt(loss)} ≤ (1 + ${tolerance}) × ${fmt(prev)}` };
  return { ...d, activate: false, reason: `held-out loss ${fmt(loss)} is worse than the active model's ${fmt(prev)} beyond ${tolerance}` };
}

const finite = (x: unknown): number | null => (typeof x === 'number' && Number.isFinite(x) ? x : null);
const fmt = (x: number) => x.toFixed(4);
