import { spawn, type ChildProcess } from 'node:child_process';
import { Client, Connection } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import fs from 'node:fs';
import path from 'node:path';
import { hostLiveSeconds, placementRatios, projectRoot } from '../lib/config';
import { createDb } from '../db/connection';
import { createWindow, databaseSize, fleetHostsLive, fleetInstances, fleetLoadedHost, fleetOperations, rankForZone } from '../db/fleet';
import { DOCKER_LIKE, SimDriver, simHostIds } from '../drivers/sim-driver';
import { platformClient } from './platform-client';
import { temporalConnectionOptions } from '../lib/temporal-tls';
import { intArg, percentile, pool, writeResult } from './stats';

// A simulated fleet against the platform `npm run up` started (dev server or, with
// VCLOUD_TEMPORAL=cluster, the cluster): --hosts agents of workers/sim-fleet.ts in one process, in
// --zones zones fleet-1.. (10.70.0.0/16 onwards, nothing on the wire: probes answer from memory),
// filled through the API with --instances creates at up to --rate a second, --inflight at most
// running. Then one host is packed to --pack instances and evacuated (--evacuate-concurrency moves
// at once), the IP-pool health check runs over every zone, and everything is deleted. The raw
// baseline: the same engine calls made directly on a SimDriver, as many at once.
const { config, api, settle } = platformClient(240);
const HOSTS = intArg('hosts', 250, 5000);
const ZONES = intArg('zones', 4, 8);
const INSTANCES = intArg('instances', 1000, 60000);
const RATE = intArg('rate', 20, 500);
const INFLIGHT = intArg('inflight', 40, 1000);
const PACK = intArg('pack', 60, 200);
const SAMPLES = intArg('samples', 10, 100);
const EVACUATE_CONCURRENCY = intArg('evacuate-concurrency', 50, 50);
const PREFIX = 'fleet-';
/** In every instance's name: a run that ended early leaves names a new run must not meet. */
const RUN = Date.now().toString(36);
const zoneIds = Array.from({ length: ZONES }, (_, k) => `fleet-${k + 1}`);
const fleetHostIds = simHostIds(PREFIX, HOSTS);
const db = createDb(config.databaseUrl, { min: 0, max: 4 });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const round = (n: number, d = 1) => Math.round(n * 10 ** d) / 10 ** d;
const stats = (xs: number[]) => ({ p50: round(percentile(xs, 50)), p99: round(percentile(xs, 99)), n: xs.length });

/** The control plane's processes (what `npm run up` started), by their pid files: CPU seconds and RSS. */
function controlPlane(): { cpuSeconds: number; rssMb: number } {
  const pids = path.join(config.dataDir, 'pids');
  let ticks = 0;
  let rssPages = 0;
  const names = ['api', 'api-2', 'control-worker', 'control-worker-2', 'temporal', 'temporal_cluster-node1', 'temporal_cluster-node2'];
  for (const name of names) {
    try {
      const pid = fs.readFileSync(path.join(pids, `${name}.pid`), 'utf8').trim();
      const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      ticks += Number(fields[11]) + Number(fields[12]);
      rssPages += Number(fields[21]);
    } catch { /* not running in this shape */ }
  }
  return { cpuSeconds: ticks / 100, rssMb: Math.round((rssPages * 4096) / 2 ** 20) };
}

/** The control queue's backlog, workflow and activity tasks, as Temporal counts it (approximate). */
async function controlBacklog(client: Client): Promise<number> {
  let n = 0;
  for (const taskQueueType of [temporal.api.enums.v1.TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW, temporal.api.enums.v1.TaskQueueType.TASK_QUEUE_TYPE_ACTIVITY]) {
    const res = await client.workflowService.describeTaskQueue({
      namespace: config.temporalNamespace, taskQueue: { name: config.controlQueue }, taskQueueType, reportStats: true,
    });
    n += Number(res.stats?.approximateBacklogCount ?? 0);
  }
  return n;
}

async function ensureZones(): Promise<void> {
  for (const [k, id] of zoneIds.entries()) {
    const net = `10.${70 + k}`;
    await api('POST', '/v1/zones', { id, subnet: `${net}.0.0/16`, gateway: `${net}.0.1`, bridge: `vcfleet${k + 1}` }).catch((err) => {
      if (!String(err).includes(': 409 ')) throw err;
    });
    const pools = await api('GET', `/v1/zones/${id}/pools`);
    // A whole /16 each: what the health check has to carry (as runs of addresses).
    if (pools.items.length === 0) await api('POST', `/v1/zones/${id}/pools`, { firstIp: `${net}.0.10`, lastIp: `${net}.255.250` });
  }
}

function startFleet(): ChildProcess {
  const log = fs.openSync(path.join(config.dataDir, 'logs', 'sim-fleet.log'), 'a');
  const child = spawn(process.execPath, [path.join(projectRoot, 'dist', 'workers', 'sim-fleet.js')], {
    env: { ...process.env, VCLOUD_SIM_HOSTS: String(HOSTS), VCLOUD_SIM_ZONES: zoneIds.join(','), VCLOUD_SIM_HOST_PREFIX: PREFIX, VCLOUD_LOG_LEVEL: 'warn' },
    stdio: ['ignore', log, log],
  });
  fs.closeSync(log);
  return child;
}

/** The engine floor: create, start and plumb on SimDrivers directly, `inflight` at once. */
async function rawBaseline(n: number): Promise<number> {
  const drivers = Array.from({ length: HOSTS }, () => new SimDriver('docker', { registry: config.registry, latencies: DOCKER_LIKE }));
  const t0 = performance.now();
  await pool(Array.from({ length: n }, (_, i) => i), INFLIGHT, async (i) => {
    const d = drivers[i % HOSTS]!;
    const spec = { instanceId: `raw-${i}`, network: { ip: '10.0.0.1' } } as Parameters<SimDriver['create']>[0];
    await d.ensureImage();
    await d.create(spec);
    await d.start(spec.instanceId);
    await d.attachNetwork(spec);
  });
  return n / ((performance.now() - t0) / 1000);
}

async function sample(ids: string[]): Promise<{ getMs: number[]; rankMs: number[] }> {
  const getMs: number[] = [];
  const rankMs: number[] = [];
  for (let k = 0; k < 20; k++) {
    const id = ids[Math.floor(Math.random() * ids.length)];
    let t = performance.now();
    if (id) { await api('GET', `/v1/instances/${id}`); getMs.push(performance.now() - t); }
    t = performance.now();
    await rankForZone(db, zoneIds[k % ZONES]!, 'bench', placementRatios(config), hostLiveSeconds(config));
    rankMs.push(performance.now() - t);
  }
  return { getMs, rankMs };
}

/** POSTs at up to RATE a second while fewer than INFLIGHT creates run; answers the instance ids. */
async function fill(
  n: number, since: Date, body: (i: number) => object, onSample: (made: string[]) => Promise<void>,
): Promise<{ ids: string[]; postMs: number[]; refused: number }> {
  const ids: string[] = [];
  const postMs: number[] = [];
  const refused: string[] = [];
  let running = 0;
  let checkedAt = 0;
  const every = Math.max(1, Math.floor(n / SAMPLES));
  const t0 = Date.now();
  const posts: Promise<void>[] = [];
  for (let i = 0; i < n; i++) {
    const due = t0 + (i * 1000) / RATE;
    if (due > Date.now()) await sleep(due - Date.now());
    // The creates running, read at most every 250 ms, plus the POSTs not yet answered.
    for (;;) {
      if (Date.now() - checkedAt > 250) {
        running = (await fleetOperations(db, 'create', since)).running ?? 0;
        checkedAt = Date.now();
      }
      if (running + posts.length < INFLIGHT) break;
      await sleep(250);
    }
    const p = (async () => {
      const t = performance.now();
      try {
        const { instance } = await api('POST', '/v1/instances', body(i));
        postMs.push(performance.now() - t);
        ids.push(instance.id);
      } catch (err) {
        refused.push(String(err));
      }
    })();
    posts.push(p);
    void p.finally(() => posts.splice(posts.indexOf(p), 1));
    if ((i + 1) % every === 0) await onSample(ids);
  }
  await Promise.all(posts);
  for (;;) {
    const ops = await fleetOperations(db, 'create', since);
    if (!ops.running) break;
    await sleep(500);
  }
  if (refused.length) console.log(`  ${refused.length} POSTs refused, the first: ${refused[0]}`);
  return { ids, postMs, refused: refused.length };
}

async function main() {
  console.log(`fleet: ${HOSTS} simulated hosts in ${ZONES} zones, ${INSTANCES} instances at up to ${RATE}/s, ${INFLIGHT} in flight`);
  await ensureZones();
  const connection = await Connection.connect(temporalConnectionOptions(config));
  const client = new Client({ connection, namespace: config.temporalNamespace });
  const fleet = startFleet();
  try {
    const up0 = Date.now();
    for (;;) {
      if (fleet.exitCode !== null) throw new Error(`the sim fleet ended (exit ${fleet.exitCode}); see .data/logs/sim-fleet.log`);
      if ((await fleetHostsLive(db, PREFIX, hostLiveSeconds(config))) >= HOSTS) break;
      if (Date.now() - up0 > 600_000) throw new Error('the fleet did not come up in 10 minutes');
      await sleep(1000);
    }
    const fleetUpSeconds = round((Date.now() - up0) / 1000);
    // An earlier run left them disabled.
    await pool(fleetHostIds, 20, (id) => api('PATCH', `/v1/hosts/${id}`, { state: 'enabled' }));
    console.log(`fleet up in ${fleetUpSeconds} s; raw baseline...`);
    const raw = await rawBaseline(Math.min(INSTANCES, 2000));

    const since = new Date(Date.now() - 1000);
    type Sample = { instances: number; getMs: ReturnType<typeof stats>; rankMs: ReturnType<typeof stats>; backlog: number; running: number; postgresMb: number; cpuSeconds: number; rssMb: number };
    const samples: Sample[] = [];
    const cpu0 = controlPlane().cpuSeconds;
    const filled = await fill(INSTANCES, since, (i) => ({ name: `f${RUN}-${i}`, zone: zoneIds[i % ZONES], kind: 'docker', image: 'busybox', vcpus: 1, memoryMb: 64, app: 'bench' }), async (ids) => {
      const s = await sample(ids);
      const cp = controlPlane();
      const last: Sample = {
        instances: ids.length, getMs: stats(s.getMs), rankMs: stats(s.rankMs), backlog: await controlBacklog(client),
        running: (await fleetOperations(db, 'create', since)).running ?? 0, postgresMb: Math.round((await databaseSize(db)) / 2 ** 20),
        cpuSeconds: round(cp.cpuSeconds - cpu0), rssMb: cp.rssMb,
      };
      samples.push(last);
      console.log(`  ${ids.length} posted: ${last.running} running, control backlog ${last.backlog}, GET p50 ${last.getMs.p50} ms, rank p50 ${last.rankMs.p50}/p99 ${last.rankMs.p99} ms, Postgres ${last.postgresMb} MB, control plane ${last.cpuSeconds} CPU s, ${last.rssMb} MB`);
    });
    const window = await createWindow(db, since);
    const creates = await fleetOperations(db, 'create', since);
    const seconds = window.first && window.last ? (window.last.getTime() - window.first.getTime()) / 1000 : NaN;
    const perSecond = round(window.n / seconds, 2);
    const full = await sample(filled.ids);
    const cpuPerCreateMs = Math.round(((controlPlane().cpuSeconds - cpu0) * 1000) / Math.max(1, window.n));
    console.log(`creates: ${creates.succeeded ?? 0} succeeded, ${creates.failed ?? 0} failed, ${perSecond}/s sustained (raw ${round(raw)}/s)`);

    // One host packed to PACK instances, then evacuated.
    const loaded = (await fleetLoadedHost(db, PREFIX))!;
    const host = loaded.hostId;
    const packSince = new Date(Date.now() - 1000);
    const extra = Math.max(0, PACK - loaded.n);
    await fill(extra, packSince, (i) => ({ name: `p${RUN}-${i}`, zone: loaded.zoneId, kind: 'docker', image: 'busybox', vcpus: 1, memoryMb: 64, host }), async () => undefined);
    const onHost = (await fleetLoadedHost(db, PREFIX))!;
    const t = Date.now();
    const evac = await api('POST', `/v1/hosts/${host}/evacuate`, { concurrency: EVACUATE_CONCURRENCY });
    const evacOp = await settle(evac.operation.id, 250);
    const evacuation = { hostId: host, concurrency: EVACUATE_CONCURRENCY, instances: onHost.hostId === host ? onHost.n : loaded.n + extra, state: evacOp.state, seconds: round((Date.parse(evacOp.finishedAt) - t) / 1000), result: evacOp.result };
    console.log(`evacuation of ${evacuation.instances} instances from ${host}: ${evacOp.state} in ${evacuation.seconds} s`);

    const h0 = Date.now();
    const check = await settle((await api('POST', '/v1/ip-health/checks')).operation.id, 250);
    const ipHealth = { state: check.state, seconds: round((Date.parse(check.finishedAt) - h0) / 1000), zones: (check.result?.zones ?? []).length };
    console.log(`IP-pool health check over ${ipHealth.zones} zones: ${check.state} in ${ipHealth.seconds} s`);

    const all = await fleetInstances(db, PREFIX);
    console.log(`deleting ${all.length}...`);
    const d0 = Date.now();
    await pool(all, INFLIGHT, async (id) => { await settle((await api('DELETE', `/v1/instances/${id}`)).operation.id, 1000); });
    const deletes = { n: all.length, perSecond: round(all.length / ((Date.now() - d0) / 1000), 2) };
    console.log(`deleted ${all.length} at ${deletes.perSecond}/s`);

    const result = {
      benchmark: 'fleet', at: new Date().toISOString(), temporal: process.env.VCLOUD_TEMPORAL ?? 'dev', hosts: HOSTS, zones: ZONES, instances: INSTANCES,
      rate: RATE, inflight: INFLIGHT, fleetUpSeconds,
      creates: { succeeded: creates.succeeded ?? 0, failed: creates.failed ?? 0, refused: filled.refused, perSecond, postMs: stats(filled.postMs), cpuPerCreateMs },
      raw: { perSecond: round(raw) }, ratio: round(perSecond / raw, 3),
      full: { getMs: stats(full.getMs), rankMs: stats(full.rankMs) }, samples, evacuation, ipHealth, deletes,
      postgresMb: Math.round((await databaseSize(db)) / 2 ** 20), controlPlaneRssMb: controlPlane().rssMb,
    };
    console.log(`written to ${writeResult(`fleet-${result.temporal}`, result)}`);
  } finally {
    fleet.kill('SIGTERM');
    // Its hosts stay registered, disabled: nothing is placed on them, no watch counts them as lost.
    await pool(fleetHostIds, 20, (id) => api('PATCH', `/v1/hosts/${id}`, { state: 'disabled' }).catch(() => undefined));
    await connection.close();
    await db.destroy();
  }
}

main().catch((err) => { console.error(err); process.exit(1); });
