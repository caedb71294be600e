import { fork, type ChildProcess } from 'node:child_process';
import crypto from 'node:crypto';
import path from 'node:path';
import autocannon from 'autocannon';
import { benchDb } from './bench-db';
import { createUser, issueToken } from '../db/users';
import { localDatabaseUrl } from '../lib/database-url';
import { loadConfig, projectRoot } from '../lib/config';
import { intArg, percentile, writeResult } from './stats';

// The API's reads under load, against their floor in the same run: `GET /v1/instances/:id` and the
// first page of `GET /v1/instances` at a fixed 200 requests/s (autocannon, bounded in time, on
// loopback), then every page of a 60,000-row listing walked one after another. The floor is
// bench/raw-api-server.ts: the same rows through one plain `pg` query and node:http.
const ROWS = intArg('rows', 60_000, 200_000);
const RATE = intArg('rate', 200, 2000);
const SECONDS = intArg('seconds', 15, 120);
const API_PORT = 18_091;
const RAW_PORT = 18_092;

async function seed(db: Awaited<ReturnType<typeof benchDb>>) {
  const admin = await createUser(db, 'bench-admin', 'admin');
  const { token } = await issueToken(db, admin.id);
  await db('zones').insert({ id: 'api', subnet: '10.50.0.0/16', gateway: '10.50.0.1', bridge: 'vcbench' });
  const image = (await db('images').insert({ name: 'bench', kind: 'docker', location: 'x/y:1' }).returning('id'))[0].id;
  const hosts = Array.from({ length: 20 }, (_, i) => ({ id: `api-h${i}`, zone_id: 'api', vcpus: 64, memory_mb: 1 << 20, disk_gb: 10_000, kinds: ['docker', 'kvm'], numa: JSON.stringify({ nodes: [{ id: 0, cpus: Array.from({ length: 64 }, (_, c) => c), memoryMb: 1 << 20 }] }) }));
  await db('hosts').insert(hosts);
  const base = Date.now() - ROWS * 1000;
  const ids: string[] = [];
  for (let i = 0; i < ROWS; i += 1000) {
    const rows = Array.from({ length: Math.min(1000, ROWS - i) }, (_, j) => {
      const n = i + j;
      const ip = `10.50.${Math.floor(n / 250) % 256}.${(n % 250) + 2}`;
      const id = crypto.randomUUID();
      ids.push(id);
      return {
        id, name: `i-${n}`, owner_id: admin.id, zone_id: 'api', host_id: hosts[n % 20].id, kind: n % 5 ? 'docker' : 'kvm', app: `app${n % 50}`,
        image_id: image, vcpus: 1, memory_mb: 256, disk_gb: 5, cpuset: `{${n % 64}}`, ip: n < 65_000 ? ip : null, mac: null, hostname: `h-${n}`,
        state: 'running', created_at: new Date(base + n * 1000),
      };
    });
    await db('instances').insert(rows);
  }
  // Autovacuum of the fresh rows would otherwise run during the measurement.
  await db.raw('vacuum analyze');
  return { token, ids };
}

function start(script: string, port: number, env: Record<string, string>): Promise<ChildProcess> {
  const child = fork(path.join(projectRoot, 'dist', script), [String(port)], { env: { ...process.env, ...env }, stdio: 'inherit' });
  return new Promise((resolve, reject) => {
    const deadline = Date.now() + 30_000;
    const poll = async () => {
      if (Date.now() > deadline) return reject(new Error(`${script} did not listen on ${port}`));
      const up = await fetch(`http://127.0.0.1:${port}/healthz`).then(() => true, () => false);
      if (up) resolve(child); else setTimeout(poll, 200);
    };
    child.once('exit', (code) => reject(new Error(`${script} exited with ${code}`)));
    void poll();
  });
}

async function load(url: string, headers: Record<string, string>, paths: () => string) {
  // A warm-up first (connection pools, JIT, caches), not counted.
  await autocannon({ url, connections: 10, overallRate: RATE, duration: 3, headers, requests: [{ setupRequest: (req) => ({ ...req, path: paths() }) }] });
  const r = await autocannon({
    url, connections: 10, overallRate: RATE, duration: SECONDS, headers,
    requests: [{ setupRequest: (req) => ({ ...req, path: paths() }) }],
  });
  if (r.errors || r.non2xx) throw new Error(`${url}: ${r.errors} errors, ${r.non2xx} non-2xx answers`);
  return { requests: r.requests.total, perSecond: Math.round(r.requests.average), p50Ms: r.latency.p50, p99Ms: r.latency.p99, maxMs: r.latency.max };
}

/** Every page of the listing, one after another; each page's time from request to parsed body. */
async function walk(first: string, nextUrl: (next: string) => string, headers: Record<string, string>) {
  const times: number[] = [];
  let url: string | null = first;
  let rows = 0;
  while (url) {
    const t0 = performance.now();
    const page: { items: unknown[]; next: string | null } = await (await fetch(url, { headers })).json() as never;
    times.push(performance.now() - t0);
    rows += page.items.length;
    url = page.next ? nextUrl(page.next) : null;
  }
  return { pages: times.length, rows, p50Ms: +percentile(times, 50).toFixed(1), p99Ms: +percentile(times, 99).toFixed(1), maxMs: +Math.max(...times).toFixed(1) };
}

const ratio = (a: number, b: number) => +(a / b).toFixed(2);

async function main() {
  const db = await benchDb();
  const children: ChildProcess[] = [];
  try {
    console.log(`api: seeding ${ROWS} instances`);
    const { token, ids } = await seed(db);
    const env = { VCLOUD_DATABASE_URL: localDatabaseUrl(loadConfig().dataDir, 'vcloud_bench'), VCLOUD_LOG_LEVEL: 'warn' };
    children.push(await start('api/server.js', API_PORT, { ...env, VCLOUD_API_PORT: String(API_PORT), VCLOUD_API_HOST: '127.0.0.1' }));
    children.push(await start('bench/raw-api-server.js', RAW_PORT, env));
    const auth = { authorization: `Bearer ${token}` };
    const anyId = () => `/${ids[Math.floor(Math.random() * ids.length)]}`;
    const api = `http://127.0.0.1:${API_PORT}`;
    const raw = `http://127.0.0.1:${RAW_PORT}`;
    console.log(`api: ${RATE} requests/s for ${SECONDS} s each`);
    const getOne = { api: await load(api, auth, () => `/v1/instances${anyId()}`), raw: await load(raw, {}, () => `/instances${anyId()}`) };
    const firstPage = { api: await load(api, auth, () => '/v1/instances'), raw: await load(raw, {}, () => '/instances') };
    const listing = {
      api: await walk(`${api}/v1/instances`, (n) => `${api}/v1/instances?cursor=${n}`, auth),
      raw: await walk(`${raw}/instances`, (n) => `${raw}/instances?after=${n}`, {}),
    };
    if (listing.api.rows !== ROWS || listing.raw.rows !== ROWS) throw new Error(`listing saw ${listing.api.rows} and ${listing.raw.rows} rows, not ${ROWS}`);
    const result = {
      benchmark: 'api', at: new Date().toISOString(), rows: ROWS, rate: RATE, seconds: SECONDS,
      getOne: { ...getOne, ratioP99: ratio(getOne.api.p99Ms, getOne.raw.p99Ms) },
      firstPage: { ...firstPage, ratioP99: ratio(firstPage.api.p99Ms, firstPage.raw.p99Ms) },
      listing: { ...listing, ratioP99: ratio(listing.api.p99Ms, listing.raw.p99Ms) },
      goals: { getP99Ms: 20, pageMs: 50 },
    };
    const line = (what: string, r: { api: { p50Ms: number; p99Ms: number }; raw: { p50Ms: number; p99Ms: number }; ratioP99: number }) =>
      console.log(`${what.padEnd(28)} api p50 ${r.api.p50Ms} ms, p99 ${r.api.p99Ms} ms | raw p50 ${r.raw.p50Ms} ms, p99 ${r.raw.p99Ms} ms | p99 ratio ${r.ratioP99}`);
    line(`GET one at ${RATE}/s`, result.getOne);
    line(`GET first page at ${RATE}/s`, result.firstPage);
    line(`listing ${listing.api.pages} pages`, result.listing);
    console.log(`written to ${writeResult('api', result)}`);
  } finally {
    for (const c of children) c.kill('SIGTERM');
    await db.destroy();
  }
}

main().catch((err) => { console.error(err); process.exit(1); });
