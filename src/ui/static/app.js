// The dashboard: asks for an API key, then every few seconds reads the spaces the key may see
// and, for the chosen one, its counts and backlog, the live quality monitor, its models,
// versions and jobs, all from /v1. Everything shown is put in as text (textContent), never as
// markup, so nothing the API returns (ids, features, error messages) can run as script.
import { apiKey, ApiError, getJson, v1 } from './api.js';
import { qualityChart } from './chart.js';

const REFRESH_MS = 5000;
// The quality monitor ranks a day of events per read: read at most this often (as /metrics does).
const QUALITY_MS = 15_000;
const STATES = ['received', 'enriched', 'cold', 'warming', 'established'];
const QUEUES = ['enrich', 'embed', 'refine'];
// The model metrics worth a column; the rest are behind "all".
const KEY_METRICS = ['items', 'valItems', 'alignValLoss', 'metaValLoss', 'trainMs'];

const $ = (id) => document.getElementById(id);
let selected = spaceFromHash();
let timer = null;
let inFlight = null;
let lastQuality = null; // { space, at, value }: the last answer of GET …/quality

function spaceFromHash() {
  const m = /^#space=(.+)$/.exec(window.location.hash);
  if (!m) return null;
  try {
    return decodeURIComponent(m[1]);
  } catch {
    return null; // a malformed hash names no space: the first one is shown
  }
}

function h(tag, attrs = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === 'class') e.className = v;
    else if (v !== undefined && v !== null && v !== false) e.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children) if (c !== null && c !== undefined) e.append(c instanceof Node ? c : String(c));
  return e;
}

/** A table from a header row and rows of cells (text, numbers or nodes). */
function fill(table, head, rows, empty = 'none yet') {
  const thead = h('thead', {}, h('tr', {}, ...head.map((c) => h('th', { scope: 'col' }, c))));
  const body = rows.length
    ? rows.map((r) => h('tr', {}, ...r.map((c, i) => (i === 0 ? h('th', { scope: 'row' }, c) : h('td', {}, c)))))
    : [h('tr', {}, h('td', { colspan: head.length, class: 'muted' }, empty))];
  table.replaceChildren(thead, h('tbody', {}, ...body));
}

const num = (n) => (typeof n === 'number' ? n.toLocaleString() : '—');
const metric = (v) =>
  v === null || v === undefined ? '—' : typeof v !== 'number' ? String(v) : Number.isInteger(v) ? v.toLocaleString() : v.toPrecision(4);
const when = (iso) => (iso ? new Date(iso).toLocaleString() : '—');
function age(s) {
  if (s === null || s === undefined) return '—';
  if (s < 90) return `${Math.round(s)} s`;
  if (s < 5400) return `${Math.round(s / 60)} min`;
  if (s < 172800) return `${(s / 3600).toFixed(1)} h`;
  return `${(s / 86400).toFixed(1)} d`;
}

function showError(message) {
  $('error').textContent = message;
  $('error').hidden = false;
}
function clearError() {
  $('error').hidden = true;
  $('error').textContent = '';
}

function stop() {
  clearTimeout(timer);
  timer = null;
  inFlight?.abort();
  inFlight = null;
}

function askForKey(message) {
  stop();
  apiKey.clear();
  lastQuality = null;
  $('key-form').hidden = false;
  $('signed-in').hidden = true;
  $('main').hidden = true;
  if (message) showError(message);
  else clearError();
  $('api-key').focus();
}

function signedIn() {
  $('key-form').hidden = true;
  $('signed-in').hidden = false;
  $('main').hidden = false;
  void refresh();
}

function renderSpaces(spaces) {
  $('no-spaces').hidden = spaces.length > 0;
  $('spaces').replaceChildren(
    ...spaces.map((s) => {
      const b = h(
        'button',
        { type: 'button', class: 'space', 'aria-current': s.id === selected ? 'true' : undefined },
        h('span', { class: 'space-id' }, s.id),
        h('small', {}, `${s.itemType} · dim ${s.dim} · v${s.currentVersion}`),
      );
      b.addEventListener('click', () => {
        selected = s.id;
        window.history.replaceState(null, '', `#space=${encodeURIComponent(s.id)}`);
        void refresh();
      });
      return h('li', {}, b);
    }),
  );
}

function renderSpace(space, quality, models, jobs) {
  $('space').hidden = false;
  $('space-title').textContent = space.id;
  const m = space.model;
  $('space-summary').textContent =
    `${space.itemType} items · dim ${space.dim} · scorer ${space.scorer} · serving version ${space.currentVersion} · ` +
    (m ? `model ${m.version} (${m.encoder}, seed ${m.seed}) since ${when(m.createdAt)}` : 'no model yet: train one');

  const c = space.counts;
  const total = STATES.reduce((a, s) => a + (c.items[s] ?? 0), 0);
  fill(
    $('states'),
    ['state', 'items', 'share'],
    [
      ...STATES.map((s) => {
        const n = c.items[s] ?? 0;
        const share = total ? n / total : 0;
        return [s, num(n), h('meter', { min: 0, max: 1, value: share, title: `${(share * 100).toFixed(1)} %` })];
      }),
      ['interactions', num(c.interactions), ''],
      ['users', num(c.users), ''],
    ],
  );

  fill(
    $('backlog'),
    ['queue', 'pending', 'parked', 'dead', 'oldest waiting'],
    QUEUES.map((q) => {
      const b = space.backlog[q];
      return [q, num(b.pending), num(b.parked), h('span', { class: b.dead ? 'bad' : '' }, num(b.dead)), age(b.oldestAgeS)];
    }),
  );

  const scored = quality.buckets.reduce((a, b) => a + b.events, 0);
  $('quality-summary').textContent =
    `${scored.toLocaleString()} events scored from ${when(quality.since)} to ${when(quality.until)} ` +
    `(version ${quality.spaceVersion}); ${quality.pending.toLocaleString()} waiting to be scored`;
  $('quality-chart').replaceChildren(qualityChart(quality.buckets));

  fill(
    $('models'),
    ['model', 'active', ...KEY_METRICS, 'gate', 'created', 'all metrics'],
    models.models.map((x) => [
      String(x.version),
      x.active ? h('span', { class: 'good' }, 'active') : '',
      ...KEY_METRICS.map((k) => (k in x.metrics ? metric(x.metrics[k]) : '—')),
      x.gate && typeof x.gate.reason === 'string' ? x.gate.reason : '—',
      when(x.createdAt),
      h(
        'details',
        {},
        h('summary', {}, `${Object.keys(x.metrics).length}`),
        h('dl', {}, ...Object.entries(x.metrics).flatMap(([k, v]) => [h('dt', {}, k), h('dd', {}, metric(v))])),
      ),
    ]),
    'no model yet',
  );

  fill(
    $('versions'),
    ['version', 'state', 'dim', 'model', 'emerging', 'established', 'interactions', 'promotion job', 'created', 'promoted', 'retired'],
    space.versions.map((v) => [
      String(v.version),
      h('span', { class: `state ${v.state}` }, v.state),
      String(v.dim),
      v.modelVersion === null ? '—' : String(v.modelVersion),
      num(STATES.slice(0, 4).reduce((a, s) => a + (v.counts.items[s] ?? 0), 0)),
      num(v.counts.items['established']),
      num(v.counts.interactions),
      v.promoteJob ? h('code', { title: v.promoteJob }, v.promoteJob.slice(0, 8)) : '—',
      when(v.createdAt),
      when(v.promotedAt),
      when(v.retiredAt),
    ]),
  );

  fill(
    $('jobs'),
    ['job', 'kind', 'version', 'state', 'progress', 'outcome', 'started', 'updated'],
    jobs.jobs.map((j) => [
      h('code', { title: j.id }, j.id.slice(0, 8)),
      j.kind,
      j.spaceVersion === null ? '—' : String(j.spaceVersion),
      h('span', { class: `state ${j.state}` }, j.state),
      h(
        'span',
        { class: 'progress' },
        h('progress', { max: 1, value: j.progress.fraction }),
        ` ${Math.round(j.progress.fraction * 100)} % ${j.progress.phase}`,
      ),
      j.error ? h('span', { class: 'bad' }, j.error) : outcome(j),
      when(j.createdAt),
      when(j.updatedAt),
    ]),
    'no training or promotion yet',
  );
}

/** What a finished job did, in a few words. */
function outcome(j) {
  const r = j.result;
  if (!r) return '—';
  if (j.kind === 'train') {
    const gate = r.gate && typeof r.gate.reason === 'string' ? `: ${r.gate.reason}` : '';
    if ('activated' in r) return `model ${r.modelVersion} ${r.activated ? 'activated' : 'stored, not activated'}${gate}`;
  }
  if (j.kind === 'promote' && 'switched' in r) return r.switched ? `switched to version ${r.version}` : 'not switched';
  return '—';
}

async function refresh() {
  stop();
  const controller = new AbortController();
  inFlight = controller;
  let notice = null;
  try {
    const { spaces } = await getJson('/v1/spaces', controller.signal);
    if (selected !== null && !spaces.some((s) => s.id === selected)) {
      if (spaces.length) notice = `This key may not see space "${selected}" (or it does not exist): showing ${spaces[0].id}.`;
      selected = null;
    }
    selected ??= spaces[0]?.id ?? null;
    renderSpaces(spaces);
    if (selected === null) $('space').hidden = true;
    else {
      const space = selected;
      const fresh = lastQuality?.space === space && Date.now() - lastQuality.at < QUALITY_MS;
      const [view, q, models, jobs] = await Promise.all([
        getJson(v1('spaces', space), controller.signal),
        fresh ? lastQuality.value : getJson(v1('spaces', space, 'quality'), controller.signal),
        getJson(v1('spaces', space, 'models'), controller.signal),
        getJson(`${v1('spaces', space, 'jobs')}?limit=10`, controller.signal),
      ]);
      if (!fresh) lastQuality = { space, at: Date.now(), value: q };
      renderSpace(view, q, models, jobs);
    }
    if (notice) showError(notice);
    else clearError();
    $('updated').textContent = `updated ${new Date().toLocaleTimeString()}`;
  } catch (err) {
    if (controller.signal.aborted) return; // a newer refresh took over
    if (err instanceof ApiError && err.status === 401) return askForKey(`The API key was refused (${err.message}). Enter it again.`);
    if (err instanceof ApiError && err.status === 403) showError(`This key may not read the dashboard's data: ${err.message}`);
    else showError(err instanceof ApiError ? `${err.code}: ${err.message}` : String(err));
  } finally {
    if (inFlight === controller) {
      inFlight = null;
      // hidden tabs do not poll; they refresh when shown again
      if (!document.hidden && apiKey.get()) timer = setTimeout(() => void refresh(), REFRESH_MS);
    }
  }
}

$('key-form').addEventListener('submit', (e) => {
  e.preventDefault();
  const key = $('api-key').value.trim();
  $('api-key').value = '';
  if (!key) return;
  apiKey.set(key);
  clearError();
  signedIn();
});
$('forget-key').addEventListener('click', () => askForKey(null));
document.addEventListener('visibilitychange', () => {
  if (!document.hidden && apiKey.get() && !inFlight) void refresh();
});
window.addEventListener('hashchange', () => {
  selected = spaceFromHash();
  if (apiKey.get()) void refresh();
});

if (apiKey.get()) signedIn();
else askForKey(null);
