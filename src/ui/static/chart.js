// The live quality chart: per bucket (interactions the item had before the event), the AUC of
// the embeddings served beside that of the same events scored with the cold embeddings. SVG
// built element by element: text goes in as text, never as markup.

const NS = 'http://www.w3.org/2000/svg';
const W = 640;
const H = 250;
const M = { top: 18, right: 12, bottom: 46, left: 42 };
const SERIES = [
  { key: 'auc', cls: 'served', label: 'served embeddings' },
  { key: 'coldAuc', cls: 'cold', label: 'cold embeddings (reference)' },
];

function el(name, attrs = {}, text) {
  const e = document.createElementNS(NS, name);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, String(v));
  if (text !== undefined) e.textContent = text;
  return e;
}

const fmt = (x) => (x === null || x === undefined ? '—' : x.toFixed(3));

/** An <svg class="quality-chart"> for GET …/quality's `buckets`. */
export function qualityChart(buckets) {
  const values = buckets.flatMap((b) => SERIES.map((s) => b[s.key])).filter((v) => typeof v === 'number');
  // AUC lives in [0, 1] and 0.5 is chance; the axis starts a little under the lowest bar so
  // that the gap between served and cold (often a few hundredths) can be seen.
  const lo = Math.max(0, Math.min(0.4, Math.floor((Math.min(1, ...values) - 0.05) * 10) / 10));
  const y = (v) => M.top + (1 - (v - lo) / (1 - lo)) * (H - M.top - M.bottom);
  const svg = el('svg', {
    class: 'quality-chart',
    viewBox: `0 0 ${W} ${H}`,
    role: 'img',
    'aria-label': 'AUC per bucket: served embeddings and cold reference',
  });
  for (let t = Math.ceil(lo * 10) / 10; t <= 1.0001; t += 0.1) {
    const ty = y(t);
    svg.append(el('line', { class: 'grid', x1: M.left, x2: W - M.right, y1: ty, y2: ty }));
    svg.append(el('text', { class: 'tick', x: M.left - 6, y: ty + 4, 'text-anchor': 'end' }, t.toFixed(1)));
  }
  if (lo < 0.5) {
    svg.append(el('line', { class: 'chance', x1: M.left, x2: W - M.right, y1: y(0.5), y2: y(0.5) }));
    svg.append(el('text', { class: 'tick', x: W - M.right, y: y(0.5) - 4, 'text-anchor': 'end' }, 'chance'));
  }
  const band = (W - M.left - M.right) / Math.max(1, buckets.length);
  const barW = Math.min(38, (band * 0.7) / SERIES.length);
  buckets.forEach((b, i) => {
    const x0 = M.left + i * band + (band - barW * SERIES.length) / 2;
    SERIES.forEach((s, j) => {
      const v = b[s.key];
      const x = x0 + j * barW;
      if (typeof v !== 'number') {
        svg.append(el('text', { class: 'value', x: x + barW / 2, y: y(lo) - 4, 'text-anchor': 'middle' }, '—'));
        return;
      }
      const top = y(Math.max(v, lo));
      const bar = el('rect', { class: `bar ${s.cls}`, x, y: top, width: barW - 2, height: Math.max(0, y(lo) - top) });
      bar.append(el('title', {}, `${b.bucket}: ${s.label} AUC ${fmt(v)} over ${b.events} events (${b.positives} positive)`));
      svg.append(bar);
      svg.append(el('text', { class: 'value', x: x + barW / 2 - 1, y: top - 4, 'text-anchor': 'middle' }, fmt(v)));
    });
    const cx = M.left + i * band + band / 2;
    svg.append(el('text', { class: 'label', x: cx, y: H - M.bottom + 16, 'text-anchor': 'middle' }, b.bucket));
    svg.append(el('text', { class: 'tick', x: cx, y: H - M.bottom + 30, 'text-anchor': 'middle' }, `${b.events.toLocaleString()} events`));
  });
  svg.append(el('line', { class: 'axis', x1: M.left, x2: W - M.right, y1: y(lo), y2: y(lo) }));
  SERIES.forEach((s, j) => {
    const lx = M.left + j * 220;
    svg.append(el('rect', { class: `swatch ${s.cls}`, x: lx, y: H - 12, width: 10, height: 10 }));
    svg.append(el('text', { class: 'tick', x: lx + 14, y: H - 3 }, s.label));
  });
  return svg;
}
