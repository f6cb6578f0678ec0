// Cross-fitted contexts (crossfit.ts). On a synthetic space whose user vectors
// were fitted in-sample on the established items (as a recommender's are), the
// meta-learner trained against them learns an over-eager rule; trained against
// cross-fitted rows it learns smaller steps and refines held-out items better.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { initBackend, trainEmerFlow, loadModel, makeRng } from '../../src/model/index.js';
import { crossFitDotContexts, fitContexts } from '../../src/model/crossfit.js';
import { syntheticSpace } from '../../src/model/synthetic.js';

before(async () => {
  await initBackend();
});

const space = syntheticSpace({ seed: 3, established: 90, perEstablished: 120, emerging: 40, perEmerging: 60, users: 200 });
// the "recommender's" user vectors: fitted on the established items' interactions, lightly regularised
const fitted = fitContexts(space.data, 0.003);
const data = { ...space.data, contexts: fitted };

test('cross-fitted rows: each item maps to rows fitted without its fold, norms matched to the given rows', async (t) => {
  const cf = crossFitDotContexts(data, { folds: 3 }, makeRng(1));
  await t.test('folds as asked, every item kept', () => {
    assert.equal(cf.folds, 3);
    assert.equal(cf.data.items.length, data.items.length);
  });
  await t.test('refitted rows have about the mean squared norm of the given ones', () => {
    assert.ok(Math.abs(cf.fittedNorm2 / cf.targetNorm2 - 1) < 0.25, `norm² ${cf.fittedNorm2} vs ${cf.targetNorm2}`);
  });
  await t.test("flipping one item's labels does not move the rows that item trains against", () => {
    const flipped = {
      ...data,
      items: data.items.map((it, i) =>
        i === 0 ? { ...it, interactions: it.interactions.map((x) => ({ ...x, label: (1 - x.label) as 0 | 1 })) } : it,
      ),
    };
    const cf2 = crossFitDotContexts(flipped, { folds: 3, lambda: cf.lambda }, makeRng(1));
    const rows = (r: typeof cf) => r.data.items[0]!.interactions.map((x) => r.data.contexts[x.ctx]!);
    const a = rows(cf);
    const b = rows(cf2);
    for (let j = 0; j < a.length; j++) for (let k = 0; k < a[j]!.length; k++) assert.ok(Math.abs(a[j]![k]! - b[j]![k]!) < 1e-9);
  });
});

test('meta-training on cross-fitted contexts learns a less aggressive rule that refines held-out items better', async () => {
  const opts = {
    seed: 5,
    encoder: { kind: 'external' as const, id: { name: 'synthetic', dim: 64, version: '1' } },
    k: 20,
    alignEpochs: 150,
    metaSteps: 120,
    maxPhases: 4,
  };
  const on = await trainEmerFlow(data, { ...opts });
  const off = await trainEmerFlow(data, { ...opts, crossFitContexts: false });
  assert.equal(on.metrics.crossFitFolds, 4);
  assert.equal(off.metrics.crossFitFolds, 0);
  const score = (art: typeof on) => {
    const m = loadModel(art);
    let loss = 0;
    let n = 0;
    for (const it of space.emerging) {
      const seq = [...it.interactions].sort((x, y) => x.ts - y.ts).map((x) => ({ ctx: fitted[x.ctx]!, label: x.label }));
      const e = m.refine(m.align([it.r])[0]!, seq.slice(0, 20));
      for (const q of seq.slice(20)) {
        const z = q.ctx.reduce((s, c, k) => s + c * e[k]!, 0);
        loss += Math.log1p(Math.exp(-z)) + (1 - q.label) * z;
        n++;
      }
    }
    m.dispose();
    return loss / n;
  };
  const msg = `lrMax on ${on.metrics.ruleLrMax} off ${off.metrics.ruleLrMax}`;
  assert.ok(on.metrics.ruleLrMax! < off.metrics.ruleLrMax!, msg);
  const lOn = score(on);
  const lOff = score(off);
  assert.ok(lOn < lOff, `held-out BCE after 20 interactions: on ${lOn.toFixed(4)} off ${lOff.toFixed(4)}; ${msg}`);
});
