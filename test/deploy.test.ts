// No Docker engine runs here, so the deployment files are checked for what can be
// checked without one: they parse, the services and settings the design asks for are
// there, the image runs the README's commands, and the monitoring profile's dashboard asks
// only for metrics (and labels) a running service exposes, so the two cannot drift apart.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { parse } from 'yaml';
import { configSpec } from '../src/config.js';
import { registry } from '../src/metrics.js';
import { startTestService } from './support/service.js';

test('docker-compose.yml: postgres, redis (noeviction, AOF), api, workers, a gpu profile', () => {
  const c = parse(fs.readFileSync('docker-compose.yml', 'utf8'), { merge: true }); // compose resolves <<: merge keys
  for (const s of ['postgres', 'redis', 'api', 'worker', 'gpu-worker']) assert.ok(c.services[s], `service ${s}`);
  const redisCmd = c.services.redis.command.join(' ');
  assert.match(redisCmd, /--appendonly yes/);
  assert.match(redisCmd, /--maxmemory-policy noeviction/);
  assert.equal(c.services.api.environment.ROLE, 'api');
  assert.equal(c.services.worker.environment.ROLE, 'worker');
  assert.deepEqual(c.services['gpu-worker'].profiles, ['gpu']);
  assert.equal(c.services['gpu-worker'].build.dockerfile, 'docker/gpu.Dockerfile');
  assert.ok(fs.existsSync('docker/gpu.Dockerfile'));
  assert.match(c.services.api.environment.DATABASE_URL, /^postgres:\/\//);
});

test('compose takes every secret from the environment, Redis needs a password, images run as non-root', () => {
  const raw = fs.readFileSync('docker-compose.yml', 'utf8');
  const c = parse(raw, { merge: true });
  assert.doesNotMatch(raw, /emerflow:emerflow|POSTGRES_PASSWORD: emerflow/, 'no fixed Postgres credentials');
  assert.match(c.services.postgres.environment.POSTGRES_PASSWORD, /^\$\{POSTGRES_PASSWORD:\?/);
  assert.match(c.services.api.environment.DATABASE_URL, /\$\{POSTGRES_PASSWORD:\?/);
  assert.match(c.services.redis.command.join(' '), /--requirepass \$\{REDIS_PASSWORD:\?/);
  assert.match(c.services.api.environment.REDIS_URL, /^redis:\/\/:\$\{REDIS_PASSWORD:\?[^}]*\}@/);
  assert.match(c.services.api.environment.ADMIN_API_KEY, /^\$\{ADMIN_API_KEY:\?/);
  for (const f of ['Dockerfile', 'docker/gpu.Dockerfile']) {
    const users = [...fs.readFileSync(f, 'utf8').matchAll(/^USER (\S+)/gm)].map((m) => m[1]);
    assert.ok(users.length > 0 && users.at(-1) !== 'root', `${f} ends as a non-root USER`);
  }
});

test('Dockerfiles run the README commands; .env.example lists every variable', () => {
  const readme = fs.readFileSync('README.md', 'utf8');
  assert.match(readme, /npm ci && npm start/);
  assert.match(readme, /npm test/);
  for (const f of ['Dockerfile', 'docker/gpu.Dockerfile']) {
    const d = fs.readFileSync(f, 'utf8');
    assert.match(d, /RUN npm ci/, f);
    assert.match(d, /CMD \["npm", "start"\]/, f);
    // every role listens (a worker on /healthz, /readyz, /metrics): reachable, and health-checked
    assert.match(d, /^ENV HOST=0\.0\.0\.0$/m, f);
    assert.match(d, /^HEALTHCHECK .*\/healthz/m, f);
  }
  assert.match(fs.readFileSync('docker/gpu.Dockerfile', 'utf8'), /tfjs-node-gpu/);
  const env = fs.readFileSync('.env.example', 'utf8');
  for (const name of Object.keys(configSpec)) assert.ok(env.includes(name), `.env.example mentions ${name}`);
  for (const name of Object.keys(configSpec)) assert.ok(readme.includes(name), `README documents ${name}`);
  const pkg = JSON.parse(fs.readFileSync('package.json', 'utf8'));
  assert.ok(pkg.optionalDependencies['@tensorflow/tfjs-node-gpu'], 'tfjs-node-gpu is optional');
});

test('monitoring profile: Prometheus scrapes the API and workers with a secret key; Grafana has the dashboard', () => {
  const raw = fs.readFileSync('docker-compose.yml', 'utf8');
  const c = parse(raw, { merge: true });
  const { prometheus, grafana } = c.services;
  assert.ok(prometheus && grafana, 'services prometheus and grafana');
  assert.deepEqual(prometheus.profiles, ['monitoring']);
  assert.deepEqual(grafana.profiles, ['monitoring']);
  // only the monitoring services are in the profile: `docker compose up` alone starts what it did
  for (const [name, s] of Object.entries(c.services as Record<string, { profiles?: string[] }>))
    if (s.profiles?.includes('monitoring')) assert.ok(['prometheus', 'grafana'].includes(name), `${name} in the monitoring profile`);
  // nothing of it listens beyond this machine, and no secret is written into the file
  for (const s of [prometheus, grafana]) for (const p of s.ports) assert.match(p, /^127\.0\.0\.1:/, p);
  assert.deepEqual(c.secrets.metrics_api_key, { environment: 'METRICS_API_KEY' });
  assert.deepEqual(c.secrets.grafana_admin_password, { environment: 'GRAFANA_ADMIN_PASSWORD' });
  assert.deepEqual(prometheus.secrets, ['metrics_api_key']);
  assert.deepEqual(grafana.secrets, ['grafana_admin_password']);
  assert.equal(grafana.environment.GF_SECURITY_ADMIN_PASSWORD__FILE, '/run/secrets/grafana_admin_password');
  assert.doesNotMatch(raw, /GF_SECURITY_ADMIN_PASSWORD:/, 'the Grafana password comes from the secret file only');

  // Prometheus: its config is the mounted file, and it scrapes the api service with the secret as a bearer token…
  const mount = (s: { volumes: string[] }, target: string) => s.volumes.find((v) => v.split(':')[1] === target)?.split(':')[0];
  const promFile = mount(prometheus, '/etc/prometheus/prometheus.yml');
  assert.equal(promFile, './docker/prometheus/prometheus.yml');
  const prom = parse(fs.readFileSync(promFile!, 'utf8'));
  const job = prom.scrape_configs.find((j: { job_name: string }) => j.job_name === 'emerflow');
  assert.equal(job.metrics_path, '/metrics');
  assert.deepEqual(job.authorization, { type: 'Bearer', credentials_file: '/run/secrets/metrics_api_key' });
  assert.deepEqual(job.static_configs[0].targets, [`api:${c.services.api.ports[0].split(':').at(-1)}`]);
  assert.deepEqual(job.static_configs[0].labels, { role: 'api' });
  // …and every worker service (each replica, by DNS; gpu-worker only when its profile is on) on
  // the port a worker listens on, labelled with its service's name as its role
  const workers = Object.entries(c.services as Record<string, { environment?: Record<string, string> }>)
    .filter(([, s]) => s.environment?.['ROLE'] === 'worker')
    .map(([name]) => name);
  assert.deepEqual(workers, ['worker', 'gpu-worker']);
  assert.equal(job.dns_sd_configs.length, 1);
  const sd = job.dns_sd_configs[0];
  assert.deepEqual([...sd.names].sort(), [...workers].sort());
  assert.equal(sd.type, 'A');
  for (const w of workers) assert.equal(sd.port, configSpec.PORT.parse(c.services[w].environment.PORT), `${w}'s PORT`);
  assert.deepEqual(job.relabel_configs, [{ source_labels: ['__meta_dns_name'], regex: '(.+)', target_label: 'role' }]);

  // Grafana: the provisioning directory and dashboards mounted where the provisioning files say
  assert.equal(mount(grafana, '/etc/grafana/provisioning'), './docker/grafana/provisioning');
  const dashboards = mount(grafana, '/etc/grafana/dashboards');
  assert.equal(dashboards, './docker/grafana/dashboards');
  const ds = parse(fs.readFileSync('docker/grafana/provisioning/datasources/prometheus.yml', 'utf8')).datasources[0];
  assert.equal(ds.type, 'prometheus');
  assert.equal(ds.url, `http://prometheus:9090`);
  const provider = parse(fs.readFileSync('docker/grafana/provisioning/dashboards/emerflow.yml', 'utf8')).providers[0];
  assert.equal(provider.options.path, '/etc/grafana/dashboards');
  const dash = JSON.parse(fs.readFileSync(`${dashboards}/emerflow.json`, 'utf8'));
  assert.equal(grafana.environment.GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH, '/etc/grafana/dashboards/emerflow.json');
  const dsVar = dash.templating.list.find((v: { name: string }) => v.name === 'datasource');
  assert.equal(dsVar.current.value, ds.uid, 'the dashboard defaults to the provisioned data source');
});

/** Every PromQL expression of a Grafana dashboard (panels, rows' panels, template variables), with where it is. */
function dashboardQueries(dash: {
  panels: DashPanel[];
  templating: { list: { name: string; query?: string | { query: string } }[] };
}): { where: string; expr: string; legend: string }[] {
  const out: { where: string; expr: string; legend: string }[] = [];
  const walk = (ps: DashPanel[]) => {
    for (const p of ps) {
      if (p.type === 'row') walk(p.panels ?? []);
      else {
        assert.ok(p.targets?.length, `panel "${p.title}" has queries`);
        for (const t of p.targets) out.push({ where: `panel "${p.title}"`, expr: t.expr, legend: t.legendFormat ?? '' });
      }
    }
  };
  walk(dash.panels);
  for (const v of dash.templating.list) {
    if (v.query === undefined || v.name === 'datasource') continue;
    const q = typeof v.query === 'string' ? v.query : v.query.query;
    // label_values(<selector>, <label>): the selector's metric, and the label
    const m = /^label_values\((.*),\s*(\w+)\)$/.exec(q);
    assert.ok(m, `variable ${v.name}: ${q}`);
    out.push({ where: `variable $${v.name}`, expr: `${m[1]} by (${m[2]})`, legend: '' });
  }
  return out;
}
interface DashPanel {
  type: string;
  title: string;
  panels?: DashPanel[];
  targets: { expr: string; legendFormat?: string }[];
}

test('the Grafana dashboard asks only for metrics and labels the service exposes', async (t) => {
  const dash = JSON.parse(fs.readFileSync('docker/grafana/dashboards/emerflow.json', 'utf8'));
  // The service's own exposition: what GET /metrics names (# TYPE lines, samples or not), and
  // the label names each metric is declared with (an unobserved labelled metric has no sample).
  const svc = await startTestService(t);
  const res = await svc.app!.inject({ method: 'GET', url: '/metrics' });
  assert.equal(res.statusCode, 200);
  const types = new Map([...res.body.matchAll(/^# TYPE (\S+) (\S+)$/gm)].map((m) => [m[1]!, m[2]!]));
  const labelsOf = new Map(
    registry.getMetricsAsArray().map((m) => {
      const metric = m as unknown as { name: string; labelNames?: string[] };
      return [metric.name, metric.labelNames ?? []];
    }),
  );
  // Names Prometheus adds or derives: the target's labels (its own and those the scrape config
  // sets: `role`), the histogram bucket bound, `up`.
  const prom = parse(fs.readFileSync('docker/prometheus/prometheus.yml', 'utf8')) as {
    scrape_configs: { static_configs?: { labels?: Record<string, string> }[]; relabel_configs?: { target_label?: string }[] }[];
  };
  const SCRAPE_LABELS = [
    'instance',
    'job',
    ...prom.scrape_configs.flatMap((j) => [
      ...(j.static_configs ?? []).flatMap((s) => Object.keys(s.labels ?? {})),
      ...(j.relabel_configs ?? []).flatMap((r) => (r.target_label && !r.target_label.startsWith('__') ? [r.target_label] : [])),
    ]),
  ];
  assert.ok(SCRAPE_LABELS.includes('role'), 'the scrape config labels every target with its role');
  const exposed = (name: string): { base: string; labels: string[] } | null => {
    if (name === 'up') return { base: name, labels: [] };
    if (types.has(name)) return { base: name, labels: labelsOf.get(name) ?? [] };
    const m = /^(.*)_(bucket|sum|count)$/.exec(name);
    if (m && ['histogram', 'summary'].includes(types.get(m[1]!) ?? '')) {
      const labels = labelsOf.get(m[1]!) ?? [];
      return { base: m[1]!, labels: m[2] === 'bucket' ? [...labels, 'le'] : labels };
    }
    return null;
  };
  const queries = dashboardQueries(dash);
  assert.ok(queries.length > 20, `${queries.length} queries`);
  const used = new Set<string>();
  for (const { where, expr, legend } of queries) {
    // metric names: identifiers not followed by `(` (functions) nor inside {…} or by (…)
    const bare = expr
      .replace(/\{[^}]*\}/g, ' ')
      .replace(/\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, ' ')
      .replace(/\[[^\]]*\]/g, ' ')
      .replace(/"[^"]*"/g, ' ');
    const names = [...bare.matchAll(/\b([a-zA-Z_:][a-zA-Z0-9_:]*)\b(?!\s*\()/g)].map((m) => m[1]!).filter((n) => !/^\d/.test(n));
    const metrics = names.filter((n) => !['sum', 'max', 'min', 'avg', 'rate', 'increase'].includes(n));
    assert.ok(metrics.length > 0, `${where}: no metric in ${expr}`);
    const labels = new Set<string>(SCRAPE_LABELS);
    for (const n of metrics) {
      const e = exposed(n);
      assert.ok(e, `${where}: ${n} is not in the service's /metrics (${expr})`);
      used.add(e.base);
      for (const l of e.labels) labels.add(l);
    }
    const asked = [
      ...[...expr.matchAll(/\{([^}]*)\}/g)].flatMap((m) => [...m[1]!.matchAll(/(\w+)\s*(?:=~|!~|!=|=)/g)].map((x) => x[1]!)),
      ...[...expr.matchAll(/\b(?:by|without|on|ignoring|group_left|group_right)\s*\(([^)]*)\)/g)].flatMap((m) =>
        m[1]!
          .split(',')
          .map((s) => s.trim())
          .filter(Boolean),
      ),
      ...[...legend.matchAll(/\{\{\s*(\w+)\s*\}\}/g)].map((m) => m[1]!),
    ];
    for (const l of asked) assert.ok(labels.has(l), `${where}: label "${l}" is not a label of ${metrics.join(', ')}`);
  }
  // …and it covers what an operator needs
  for (const need of [
    'emerflow_http_request_duration_seconds',
    'emerflow_lookup_cache_hits_total',
    'emerflow_lookup_cache_misses_total',
    'emerflow_lookup_cache_bytes',
    'emerflow_tasks_pending',
    'emerflow_tasks_dead',
    'emerflow_relay_dispatched_total',
    'emerflow_jobs_total',
    'emerflow_llm_requests_total',
    'emerflow_llm_tokens_total',
    'emerflow_llm_breaker_state',
    'emerflow_quality_auc',
    'emerflow_quality_cold_auc',
    'emerflow_process_process_resident_memory_bytes',
    'emerflow_process_nodejs_eventloop_lag_p99_seconds',
  ])
    assert.ok(used.has(need), `the dashboard shows ${need}`);
});
