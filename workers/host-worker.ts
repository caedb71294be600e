import { temporalConnectionOptions } from '../lib/temporal-tls';
import os from 'node:os';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection, Worker } from '@temporalio/worker';
import { checkFencingTimes, hostQueue, loadConfig, type Config } from '../lib/config';
import { hostProbeQueue } from '../lib/host-queue';
import { createLogger, type Logger } from '../lib/logger';
import { createDb } from '../db/connection';
import { upsertHost } from '../db/hosts';
import { setPeerAddress } from '../db/fencing';
import { DirImageStore } from '../images/image-store';
import { createHostActivities } from '../activities/host/instance-activities';
import { createImageActivities } from '../activities/host/image-activities';
import { DockerImages } from '../drivers/docker-images';
import { RegistryClient } from '../images/registry';
import { diskGbFree, readNumaTopology } from '../host/machine';
import { sweepStaleCopies } from './stale-copies';
import { createDrivers, hostDir } from './agent/drivers';
import { ControlPlaneContact } from './agent/control-plane';
import { InstanceMonitor } from '../host/metrics/monitor';
import { instancesOnHost, setMetricsAddress } from '../db/monitoring';

/** Start-up steps that need Postgres wait for it (with backoff) instead of ending the agent. */
async function patiently<T>(log: Logger, what: string, fn: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn();
    } catch (err) {
      const wait = Math.min(30, 2 ** attempt);
      log.warn({ err: String(err), attempt, retryInSeconds: wait }, `${what} failed; trying again`);
      await new Promise((r) => setTimeout(r, wait * 1000));
    }
  }
}

// The only process that touches a host. It registers the host, heartbeats, and serves host-<id>
// (its work) and host-<id>-probe (a probe that ordinary work cannot starve: busy is not dead).
async function main() {
  const config = loadConfig();
  checkFencingTimes(config);
  const log = createLogger(`host-agent:${config.hostId}`, config.logLevel);
  const db = createDb(config.databaseUrl, { min: 0, max: 2 });
  const drivers = await createDrivers(config, log);

  await patiently(log, 'registering the host', async () => {
    await upsertHost(db, {
      id: config.hostId, zoneId: config.hostZone, vcpus: os.cpus().length,
      memoryMb: Math.floor(os.totalmem() / 2 ** 20), diskGb: diskGbFree(config.dataDir), numa: { nodes: readNumaTopology() },
      kinds: Object.keys(drivers),
    });
    await setPeerAddress(db, config.hostId, config.peerAddress || null);
    await setMetricsAddress(db, config.hostId, config.agentMetricsAddress || null);
  });
  await patiently(log, 'sweeping stale copies', () => sweepStaleCopies(db, config.hostId, drivers, log));

  const client = await Connection.connect(temporalConnectionOptions(config));
  const contact = new ControlPlaneContact({
    db, connection: client, hostId: config.hostId, heartbeatSeconds: config.heartbeatSeconds, selfFenceSeconds: config.selfFenceSeconds,
    watchdogDir: config.watchdogDir, peerAddress: config.peerAddress, log, partitionFile: process.env.VCLOUD_TEST_PARTITION_FILE,
  });
  contact.start();
  const monitor = new InstanceMonitor({
    hostId: config.hostId, drivers, intervalSeconds: config.metricsIntervalSeconds, log,
    instances: () => instancesOnHost(db, config.hostId),
  });
  monitor.start();
  if (config.agentMetricsAddress) monitor.listen(config.agentMetricsAddress);

  const connection = await NativeConnection.connect(temporalConnectionOptions(config));
  const activities = {
    ...createHostActivities({ hostId: config.hostId, drivers }),
    ...createImageActivities({
      hostId: config.hostId, images: drivers.docker ? new DockerImages(config.dockerSocket) : null, imageStore: new DirImageStore(config.imageStoreDir),
      cacheDir: hostDir(config, 'image-cache'), registry: new RegistryClient(config.registry),
    }),
  };
  const probe = { probeHost: async () => ({ hostId: config.hostId, kinds: Object.keys(drivers), at: new Date().toISOString() }) };
  const makeWorkers = async () => [
    await Worker.create({
      connection, namespace: config.temporalNamespace, taskQueue: hostQueue(config.hostId), activities,
      maxConcurrentActivityTaskExecutions: 20,
      // A step's heartbeats (every 3 s) reach the server as often, so a cancel reaches the step within seconds.
      maxHeartbeatThrottleInterval: '3 seconds',
    }),
    await Worker.create({
      connection, namespace: config.temporalNamespace, taskQueue: hostProbeQueue(config.hostId), activities: probe,
      maxConcurrentActivityTaskExecutions: 4,
    }),
  ];

  let stopping = false;
  let running: Worker[] = [];
  const stop = () => {
    stopping = true;
    for (const w of running) w.shutdown();
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
  // (Test only) a simulated partition stops the workers until it ends, as a lost network would.
  const partitionWatch = setInterval(() => {
    if (contact.partitioned && running.length) for (const w of running) w.shutdown();
  }, 500);
  let announced = false;
  while (!stopping) {
    if (contact.partitioned) {
      await new Promise((r) => setTimeout(r, 500));
      continue;
    }
    running = await makeWorkers();
    log.info({ taskQueue: hostQueue(config.hostId), kinds: Object.keys(drivers) }, 'host agent running');
    // The reconciler compares this host's engines with the database now rather than at its next tick.
    if (!announced) void triggerReconcile(config, log).then(() => { announced = true; });
    await Promise.all(running.map((w) => w.run()));
    running = [];
  }
  clearInterval(partitionWatch);
  monitor.stop();
  contact.stop();
  await connection.close();
  await client.close();
  await db.destroy();
}

async function triggerReconcile(config: Config, log: Logger): Promise<void> {
  try {
    const connection = await Connection.connect(temporalConnectionOptions(config));
    try {
      await new Client({ connection, namespace: config.temporalNamespace }).schedule.getHandle(config.reconcileScheduleId).trigger();
    } finally {
      await connection.close();
    }
  } catch (err) {
    log.warn({ err: String(err) }, 'could not trigger the reconciler; its schedule will come');
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
