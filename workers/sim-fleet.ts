import { DefaultLogger, NativeConnection, Runtime, Worker } from '@temporalio/worker';
import { hostQueue, loadConfig } from '../lib/config';
import { hostProbeQueue } from '../lib/host-queue';
import { temporalConnectionOptions } from '../lib/temporal-tls';
import { createLogger } from '../lib/logger';
import { createDb } from '../db/connection';
import { heartbeatMany, upsertHost } from '../db/hosts';
import { createHostActivities } from '../activities/host/instance-activities';
import { DOCKER_LIKE, SimDriver, simHostIds } from '../drivers/sim-driver';
import { requestedAddresses, type ProbeRequest } from '../host/probe';

// Many simulated hosts in one process (bench/fleet.ts): each its own agent with the real host
// activities over a SimDriver, polling its own host-<id> and host-<id>-probe queues, all on one
// Temporal connection and one small database pool. What a host agent does besides (monitoring,
// fencing, image activities) is left out: the fleet measures the control plane, not the hosts.
//   VCLOUD_SIM_HOSTS (100), VCLOUD_SIM_ZONES (comma-separated, hosts dealt round-robin),
//   VCLOUD_SIM_HOST_PREFIX (sim-), VCLOUD_SIM_VCPUS (32), VCLOUD_SIM_MEMORY_MB (131072),
//   VCLOUD_SIM_LATENCY_SCALE (1: Docker-like times; 0: instant)
const HOST_PREFIX = /^[a-z][a-z0-9-]{0,20}$/;

async function main() {
  const config = loadConfig();
  const log = createLogger('sim-fleet', config.logLevel);
  const count = Number(process.env.VCLOUD_SIM_HOSTS ?? 100);
  const zones = (process.env.VCLOUD_SIM_ZONES ?? config.hostZone).split(',').filter(Boolean);
  const prefix = process.env.VCLOUD_SIM_HOST_PREFIX ?? 'sim-';
  const vcpus = Number(process.env.VCLOUD_SIM_VCPUS ?? 32);
  const memoryMb = Number(process.env.VCLOUD_SIM_MEMORY_MB ?? 131072);
  const scale = Number(process.env.VCLOUD_SIM_LATENCY_SCALE ?? 1);
  if (!Number.isInteger(count) || count < 1 || count > 5000) throw new Error('VCLOUD_SIM_HOSTS must be 1 to 5000');
  if (!HOST_PREFIX.test(prefix)) throw new Error('VCLOUD_SIM_HOST_PREFIX must be a short lower-case name');
  if (!zones.length) throw new Error('VCLOUD_SIM_ZONES names no zone');

  // Two workers a host: their start-up lines alone would be thousands.
  Runtime.install({ logger: new DefaultLogger('WARN') });
  const db = createDb(config.databaseUrl, { min: 0, max: 4 });
  const hostIds = simHostIds(prefix, count);
  const drivers = new Map(hostIds.map((id) => [id, new SimDriver('docker', { registry: config.registry, latencies: DOCKER_LIKE, scale })]));
  for (const [k, id] of hostIds.entries()) {
    await upsertHost(db, {
      id, zoneId: zones[k % zones.length]!, vcpus, memoryMb, diskGb: 4096, kinds: ['docker'],
      numa: { nodes: [{ id: 0, cpus: Array.from({ length: vcpus }, (_, c) => c), memoryMb }] },
    });
  }

  const connection = await NativeConnection.connect(temporalConnectionOptions(config));
  // A simulated guest answers a probe from memory: no packet leaves this process.
  const addresses = () => new Set([...drivers.values()].flatMap((d) => d.addresses()));
  const workers: Worker[] = [];
  for (const id of hostIds) {
    const driver = drivers.get(id)!;
    const activities = {
      ...createHostActivities({ hostId: id, drivers: { docker: driver } }),
      async probeAddresses(req: ProbeRequest): Promise<string[]> {
        const held = addresses();
        return requestedAddresses(req).filter((a) => held.has(a));
      },
    };
    const one = { type: 'simple-maximum', maximum: 1 } as const;
    workers.push(await Worker.create({
      connection, namespace: config.temporalNamespace, taskQueue: hostQueue(id), activities,
      maxConcurrentActivityTaskExecutions: 20, activityTaskPollerBehavior: one, maxHeartbeatThrottleInterval: '3 seconds',
    }));
    workers.push(await Worker.create({
      connection, namespace: config.temporalNamespace, taskQueue: hostProbeQueue(id),
      activities: { probeHost: async () => ({ hostId: id, kinds: ['docker'], at: new Date().toISOString() }) },
      maxConcurrentActivityTaskExecutions: 2, activityTaskPollerBehavior: one,
    }));
  }
  // Heard from only once every queue is served: a host that heartbeats is a host that takes work.
  const running = workers.map((w) => w.run());
  const beat = async () => { await heartbeatMany(db, hostIds).catch((err) => log.warn({ err: String(err) }, 'heartbeat failed')); };
  await beat();
  const timer = setInterval(() => void beat(), config.heartbeatSeconds * 1000);
  log.info({ hosts: count, zones, scale }, 'sim fleet running');

  const stop = () => { clearInterval(timer); for (const w of workers) w.shutdown(); };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
  await Promise.all(running);
  await connection.close();
  await db.destroy();
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
