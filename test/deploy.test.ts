// No Docker engine runs here, so the deployment files are checked for what can be
// checked without one: they parse, the services and settings the design asks for are
// there, and the image runs the README's commands.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { parse } from 'yaml';
import { configSpec } from '../src/config.js';

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
  }
  assert.match(fs.readFileSync('docker/gpu.Dockerfile', 'utf8'), /tfjs-node-gpu/);
  const env = fs.readFileSync('.env.example', 'utf8');
  for (const name of Object.keys(configSpec)) assert.ok(env.includes(name), `.env.example mentions ${name}`);
  for (const name of Object.keys(configSpec)) assert.ok(readme.includes(name), `README documents ${name}`);
  const pkg = JSON.parse(fs.readFileSync('package.json', 'utf8'));
  assert.ok(pkg.optionalDependencies['@tensorflow/tfjs-node-gpu'], 'tfjs-node-gpu is optional');
});
