// emerflow status <space> [--since ISO] [--version v]: what a person asks first — how many
// items are in each state, what was trained, the versions, and the live quality buckets.
import type { QualityView, SpaceView } from '../api/contract.js';
import { parse } from './args.js';
import { EXIT } from './exit.js';
import type { Io } from './io.js';

const USAGE = 'emerflow status <space> [--since <ISO 8601>] [--version v]';
const STATES = ['received', 'enriched', 'cold', 'warming', 'established'];

export async function statusCommand(io: Io, argv: string[]): Promise<number> {
  const { values, positionals } = parse(USAGE, argv, { since: { type: 'string' }, version: { type: 'string' } }, { min: 1 });
  const space = positionals[0] as string;
  const client = io.client();
  const [view, quality] = await Promise.all([
    client.getSpace(space),
    client.quality(space, { since: values.since, version: values.version }),
  ]);
  io.out([...spaceLines(view), ...qualityLines(quality)].join('\n'));
  return EXIT.ok;
}

function spaceLines(s: SpaceView): string[] {
  const counts = (c: SpaceView['counts']) => {
    const states = [...STATES, ...Object.keys(c.items).filter((k) => !STATES.includes(k))];
    return `items ${states.map((k) => `${k} ${c.items[k] ?? 0}`).join(', ')}; interactions ${c.interactions}; users ${c.users}`;
  };
  const model = s.model ? `model v${s.model.version} (encoder ${s.model.encoder}, seed ${s.model.seed})` : 'no model trained yet';
  return [
    `space ${s.id}: dim ${s.dim}, item type ${s.itemType}, scorer ${s.scorer}; current version ${s.currentVersion}; ${model}`,
    counts(s.counts),
    ...s.versions.map((v) => `version ${v.version} (${v.state}, dim ${v.dim}, model ${v.modelVersion ?? 'none'}): ${counts(v.counts)}`),
  ];
}

function qualityLines(q: QualityView): string[] {
  const num = (x: number | null) => (x === null ? '-' : x.toFixed(4));
  const rows = q.buckets.map((b) => [
    b.bucket,
    String(b.events),
    String(b.positives),
    num(b.auc),
    num(b.coldAuc),
    num(b.logLoss),
    num(b.coldLogLoss),
  ]);
  const header = ['bucket', 'events', 'positives', 'auc', 'coldAuc', 'logLoss', 'coldLogLoss'];
  const table = [header, ...rows];
  const widths = header.map((_, i) => Math.max(...table.map((r) => r[i]?.length ?? 0)));
  return [
    `quality of version ${q.spaceVersion} from ${q.since} to ${q.until} (events not scored yet: ${q.pending})`,
    ...table.map((r) => `  ${r.map((c, i) => c.padEnd(widths[i] ?? 0)).join('  ')}`.trimEnd()),
  ];
}
