import path from 'node:path';
import { platformClient } from './platform-client';
import { intArg, pool, writeResult } from './stats';
import { directContainers } from './direct-docker';
import { run } from '../host/run';
import { inCidr } from '../lib/net';
import { stopByPidFile } from '../lib/managed-process';
import { projectRoot } from '../lib/config';
import { createDb } from '../db/connection';

/**
 * Automatic failover, timed: N containers on local-2, then local-2 dies (its agent, its watchdog and
 * its Docker engine killed); the zone has automatic failover. Measured from the kill: detection
 * (the failover's evacuation is opened), fencing (the host recorded fenced) and rebuild (every
 * instance answering ping on local-1). Against `VCLOUD_HOSTS=2 npm run up`; local-2 is brought back
 * and the instances deleted after. Pings go only to the zone's own addresses on its bridge.
 * Baselines in the same run: detection cannot be sooner than VCLOUD_DEAD_AFTER_SECONDS (the silence
 * that makes a host dead); the rebuild is set against the same N containers started directly on
 * local-1 (`docker run` and the plumbing, as many at once as the failover moves).
 *
 *   node dist/bench/failover.js [--n=10]
 */
const N = intArg('n', 10, 60);
const { config, manifest, api, settle } = platformClient(20);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function main() {
  const zone = (await api('GET', '/v1/zones')).items.find((z: { id: string }) => z.id === 'default');
  const pings = (ip: string) => {
    if (!inCidr(ip, zone.subnet)) throw new Error(`refusing to ping ${ip}`);
    return run('ping', ['-c', '1', '-W', '1', '-I', zone.bridge, ip], 5000).then(() => true, () => false);
  };
  const hosts = (await api('GET', '/v1/hosts')).items.map((h: { id: string }) => h.id);
  if (!hosts.includes('local-1') || !hosts.includes('local-2')) throw new Error('needs hosts local-1 and local-2: VCLOUD_HOSTS=2 npm run up');
  for (const h of ['local-1', 'local-2']) await api('PATCH', `/v1/hosts/${h}`, { state: 'enabled' });
  const db = createDb(config.databaseUrl, { min: 0, max: 2 });
  const tag = Date.now().toString(36);
  const made = await pool(Array.from({ length: N }, (_, i) => i), 5, async (i) => {
    const { instance, operation } = await api('POST', '/v1/instances', { name: `failover-${tag}-${i}`, zone: 'default', kind: 'docker', image: 'busybox', vcpus: 1, memoryMb: 64, host: 'local-2' });
    if ((await settle(operation.id)).state !== 'succeeded') throw new Error('create failed');
    return (await api('GET', `/v1/instances/${instance.id}`)) as { id: string; ip: string };
  });
  await api('PATCH', '/v1/zones/default', { autoFailover: true });
  await sleep(3 * config.heartbeatSeconds * 1000); // the agents have read the policy

  const pids = path.join(config.dataDir, 'pids');
  const logs = path.join(config.dataDir, 'logs');
  const t0 = Date.now();
  const relaunchWatchdog = await stopByPidFile(path.join(pids, 'host-agent-2-watchdog.pid'), 'SIGKILL');
  const relaunchAgent = await stopByPidFile(path.join(pids, 'host-agent-2.pid'), 'SIGKILL');
  await run('/bin/bash', [path.join(projectRoot, 'scripts', 'fence-sim.sh'), config.dataDir]);

  let detectedMs = NaN;
  let fencedMs = NaN;
  const up = new Set<string>();
  while (up.size < made.length) {
    if (Date.now() - t0 > 10 * 60_000) throw new Error('failover did not finish in 10 minutes');
    if (Number.isNaN(detectedMs)) {
      const op = await db('operations').where({ host_id: 'local-2', type: 'evacuate' }).where('created_at', '>=', new Date(t0)).first('created_at');
      if (op) detectedMs = new Date(op.created_at).getTime() - t0;
    }
    if (Number.isNaN(fencedMs)) {
      const ev = await db('instance_events').where({ host_id: 'local-2', kind: 'fenced' }).where('created_at', '>=', new Date(t0)).first('created_at');
      if (ev) fencedMs = new Date(ev.created_at).getTime() - t0;
    }
    await Promise.all(made.filter((m) => !up.has(m.id)).map(async (m) => {
      const i = await api('GET', `/v1/instances/${m.id}`);
      if (i.hostId === 'local-1' && (await pings(m.ip))) up.add(m.id);
    }));
    await sleep(250);
  }
  const totalMs = Date.now() - t0;

  // local-2 back: its engine, its agent (which destroys its stale copies first), its watchdog.
  await api('PATCH', '/v1/zones/default', { autoFailover: false });
  await run('bash', ['-c', `source ${projectRoot}/scripts/lib.sh && start_host_b_services`], 120_000);
  relaunchAgent(path.join(logs, 'host-agent-2.log'));
  relaunchWatchdog(path.join(logs, 'host-agent-2-watchdog.log'));
  await pool(made, 5, async (m) => settle((await api('DELETE', `/v1/instances/${m.id}`)).operation.id));
  for (const h of ['local-1', 'local-2']) await api('PATCH', `/v1/hosts/${h}`, { state: 'enabled' }).catch(() => undefined);
  await db.destroy();

  const direct = await directContainers(N, config.failoverConcurrency, manifest.docker.location);
  const s = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
  const rebuildMs = totalMs - fencedMs;
  const result = {
    benchmark: 'failover', at: new Date().toISOString(), containers: N,
    detectionMs: detectedMs, fencingMs: fencedMs - detectedMs, rebuildMs, totalMs,
    baseline: { detectionFloorMs: config.deadAfterSeconds * 1000, directStartMs: Math.round(direct.wallMs) },
    ratio: { detection: +(detectedMs / (config.deadAfterSeconds * 1000)).toFixed(2), rebuild: +(rebuildMs / direct.wallMs).toFixed(2) },
    settings: { heartbeatSeconds: config.heartbeatSeconds, selfFenceSeconds: config.selfFenceSeconds, deadAfterSeconds: config.deadAfterSeconds,
      hostWatchSeconds: config.hostWatchSeconds, failoverConcurrency: config.failoverConcurrency },
  };
  console.log(`failover of ${N} containers: all answering on local-1 ${s(totalMs)} after local-2 died`);
  console.log(`  detection ${s(detectedMs)} (dead after ${config.deadAfterSeconds} s of silence: ratio ${result.ratio.detection})`);
  console.log(`  fencing   ${s(fencedMs - detectedMs)}`);
  console.log(`  rebuild   ${s(rebuildMs)} (the same ${N} started directly on local-1, ${config.failoverConcurrency} at once: ${s(direct.wallMs)}; ratio ${result.ratio.rebuild})`);
  console.log(`written to ${writeResult(`failover-${N}`, result)}`);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
