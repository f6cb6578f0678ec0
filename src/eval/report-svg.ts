// auc.svg: AUC per stage, one line per method, plus the oracle as a dashed line. No dependencies.
import type { EvalResults } from './run.js';
import { STAGES } from './run.js';

const COLORS = ['#1f77b4', '#ff7f0e', '#2ca02c', '#d62728', '#9467bd', '#8c564b', '#e377c2', '#7f7f7f', '#bcbd22', '#17becf'];
const esc = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

const title = (r: EvalResults): string =>
  `AUC per stage — ${r.dataset}, ${r.backbone} backbone, text ${r.text}, seeds ${r.protocol.seeds.join(',')}`;

export function renderSvg(r: EvalResults): string {
  const W = 720,
    H = 420,
    L = 60,
    R = 170,
    T = 40,
    B = 50;
  const methods = [...new Set(r.results.map((x) => x.method))];
  const vals = [...r.results.map((x) => x.auc), r.oracle.auc].filter(Number.isFinite);
  let lo = Math.min(...vals),
    hi = Math.max(...vals);
  const pad = Math.max(0.005, (hi - lo) * 0.08);
  lo = Math.floor((lo - pad) * 100) / 100;
  hi = Math.ceil((hi + pad) * 100) / 100;
  const x = (i: number): number => L + (i * (W - L - R)) / (STAGES.length - 1);
  const y = (v: number): number => Math.round((T + ((hi - v) * (H - T - B)) / (hi - lo || 1)) * 10) / 10;
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="12">`,
    `<rect width="${W}" height="${H}" fill="white"/>`,
    `<text x="${L}" y="22" font-size="14">${esc(title(r))}</text>`,
  ];
  const ticks = 5;
  for (let t = 0; t <= ticks; t++) {
    const v = lo + ((hi - lo) * t) / ticks;
    out.push(
      `<line x1="${L}" x2="${W - R}" y1="${y(v)}" y2="${y(v)}" stroke="#ddd"/>`,
      `<text x="${L - 6}" y="${y(v) + 4}" text-anchor="end">${v.toFixed(3)}</text>`,
    );
  }
  STAGES.forEach((s, i) => out.push(`<text x="${x(i)}" y="${H - B + 20}" text-anchor="middle">${s}</text>`));
  out.push(`<text x="14" y="${(H - B + T) / 2}" transform="rotate(-90 14 ${(H - B + T) / 2})" text-anchor="middle">AUC</text>`);
  methods.forEach((m, k) => {
    const c = COLORS[k % COLORS.length]!;
    const pts = STAGES.map((s, i) => {
      const v = r.results.find((z) => z.method === m && z.stage === s)?.auc ?? NaN;
      return Number.isFinite(v) ? `${x(i).toFixed(1)},${y(v).toFixed(1)}` : '';
    }).filter(Boolean);
    const width = m === 'emerflow' ? 3 : 1.6;
    out.push(`<polyline fill="none" stroke="${c}" stroke-width="${width}" points="${pts.join(' ')}"/>`);
    for (const p of pts) {
      const [px, py] = p.split(',');
      out.push(`<circle cx="${px}" cy="${py}" r="3" fill="${c}"/>`);
    }
    out.push(
      `<line x1="${W - R + 12}" x2="${W - R + 32}" y1="${T + 10 + k * 18}" y2="${T + 10 + k * 18}" stroke="${c}" stroke-width="${width}"/>`,
      `<text x="${W - R + 38}" y="${T + 14 + k * 18}">${esc(m)}</text>`,
    );
  });
  if (Number.isFinite(r.oracle.auc)) {
    const k = methods.length;
    out.push(
      `<line x1="${L}" x2="${W - R}" y1="${y(r.oracle.auc)}" y2="${y(r.oracle.auc)}" stroke="black" stroke-dasharray="5,4"/>`,
      `<line x1="${W - R + 12}" x2="${W - R + 32}" y1="${T + 10 + k * 18}" y2="${T + 10 + k * 18}" stroke="black" stroke-dasharray="5,4"/>`,
      `<text x="${W - R + 38}" y="${T + 14 + k * 18}">oracle (retrain)</text>`,
    );
  }
  out.push('</svg>');
  return `${out.join('\n')}\n`;
}
