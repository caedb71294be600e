import os from 'node:os';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection, Worker } from '@temporalio/worker';
import { hostQueue, loadConfig } from '../lib/config';
import { createLogger, type Logger } from '../lib/logger';
import { createDb } from '../db/connection';
import { heartbeat, upsertHost } from '../db/hosts';
import { sweepStaleCopies } from './stale-copies';
import { DockerDriver } from '../drivers/docker-driver';
import { LibvirtDriver } from '../drivers/libvirt-driver';
import { DirImageStore } from '../images/image-store';
import { DirStorage } from '../storage/dir-storage';
import { LvmStorage } from '../storage/lvm-storage';
import type { InstanceDriver, InstanceKind } from '../drivers/instance-driver';
import { createHostActivities } from '../activities/host/instance-activities';
import { createImageActivities } from '../activities/host/image-activities';
import { DockerImages } from '../drivers/docker-images';
import { RegistryClient } from '../images/registry';
import { diskGbFree, readNumaTopology } from '../host/machine';

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

// The only process that touches a host. It registers the host, heartbeats, and serves host-<id>.
async function main() {
  const config = loadConfig();
  const log = createLogger(`host-agent:${config.hostId}`, config.logLevel);
  const db = createDb(config.databaseUrl, { min: 0, max: 2 });

  const drivers: Partial<Record<InstanceKind, InstanceDriver>> = {};
  const docker = new DockerDriver(config.dockerSocket, config.hostId, config.registry);
  try {
    log.info({ version: (await docker.probe()).version }, 'docker engine found');
    drivers.docker = docker;
  } catch (err) {
    log.warn({ err: String(err) }, 'no docker engine: this host will not take containers');
  }

  const hostDir = (what: string) => path.join(config.dataDir, what, config.hostId);
  const imageStore = new DirImageStore(config.imageStoreDir);
  const storage = config.storageDriver === 'lvm'
    ? new LvmStorage(config.lvmVolumeGroup)
    : new DirStorage(config.storageDir ?? hostDir('disks'));
  const libvirt = new LibvirtDriver({
    uri: config.libvirtUri, domainType: config.libvirtDomainType, storage, imageStore,
    cacheDir: hostDir('image-cache'), workDir: hostDir('work'), consoleDir: hostDir('consoles'),
  });
  try {
    log.info({ version: (await libvirt.probe()).version, uri: config.libvirtUri }, 'libvirt found');
    drivers.kvm = libvirt;
  } catch (err) {
    log.warn({ err: String(err) }, 'no libvirt: this host will not take VMs');
  }

  const numa = readNumaTopology();
  await patiently(log, 'registering the host', () => upsertHost(db, {
    id: config.hostId, zoneId: config.hostZone, vcpus: os.cpus().length,
    memoryMb: Math.floor(os.totalmem() / 2 ** 20), diskGb: diskGbFree(config.dataDir), numa: { nodes: numa },
    kinds: Object.keys(drivers),
  }));
  const beat = setInterval(() => {
    heartbeat(db, config.hostId).catch((err) => log.warn({ err: String(err) }, 'heartbeat failed'));
  }, config.heartbeatSeconds * 1000);

  await patiently(log, 'sweeping stale copies', () => sweepStaleCopies(db, config.hostId, drivers, log));

  const connection = await NativeConnection.connect({ address: config.temporalAddress });
  const worker = await Worker.create({
    connection,
    namespace: config.temporalNamespace,
    taskQueue: hostQueue(config.hostId),
    activities: {
      ...createHostActivities({ hostId: config.hostId, drivers }),
      ...createImageActivities({
        hostId: config.hostId, images: drivers.docker ? new DockerImages(config.dockerSocket) : null, imageStore,
        cacheDir: hostDir('image-cache'), registry: new RegistryClient(config.registry),
      }),
    },
    maxConcurrentActivityTaskExecutions: 20,
    // A step's heartbeats (every 3 s) reach the server as often, so a cancel reaches the step within seconds.
    maxHeartbeatThrottleInterval: '3 seconds',
  });
  log.info({ taskQueue: hostQueue(config.hostId), kinds: Object.keys(drivers) }, 'host agent running');
  // The reconciler compares this host's engines with the database now rather than at its next tick.
  void triggerReconcile(config, log);
  const stop = () => worker.shutdown();
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
  await worker.run();
  clearInterval(beat);
  await connection.close();
  await db.destroy();
}

async function triggerReconcile(config: ReturnType<typeof loadConfig>, log: Logger): Promise<void> {
  try {
    const connection = await Connection.connect({ address: config.temporalAddress });
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
