import os from 'node:os';
import path from 'node:path';
import { NativeConnection, Worker } from '@temporalio/worker';
import { hostQueue, loadConfig } from '../lib/config';
import { createLogger } from '../lib/logger';
import { createDb } from '../db/connection';
import { heartbeat, upsertHost } from '../db/hosts';
import { clearStaleCopy, staleCopiesOn } from '../db/snapshots';
import { unplumb } from '../host/bridge-plumbing';
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

// The only process that touches a host. It registers the host, heartbeats, and serves host-<id>.
async function main() {
  const config = loadConfig();
  const log = createLogger(`host-agent:${config.hostId}`, config.logLevel);
  const db = createDb(config.databaseUrl, { min: 0, max: 2 });

  const drivers: Partial<Record<InstanceKind, InstanceDriver>> = {};
  const docker = new DockerDriver(config.dockerSocket, config.registry);
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
  await upsertHost(db, {
    id: config.hostId, zoneId: config.hostZone, vcpus: os.cpus().length,
    memoryMb: Math.floor(os.totalmem() / 2 ** 20), diskGb: diskGbFree(config.dataDir), numa: { nodes: numa },
    kinds: Object.keys(drivers),
  });
  const beat = setInterval(() => {
    heartbeat(db, config.hostId).catch((err) => log.warn({ err: String(err) }, 'heartbeat failed'));
  }, config.heartbeatSeconds * 1000);

  // Copies this host still has of instances that moved away while it was dead: destroyed before
  // the agent takes any work, so nothing of theirs runs beside the moved instance.
  for (const stale of await staleCopiesOn(db, config.hostId)) {
    const driver = drivers[stale.kind];
    if (!driver) continue;
    await driver.destroy(stale.instance_id);
    await unplumb(stale.instance_id, config.hostId);
    await clearStaleCopy(db, stale.instance_id, config.hostId);
    log.info({ instanceId: stale.instance_id }, 'destroyed a stale copy');
  }

  const connection = await NativeConnection.connect({ address: config.temporalAddress });
  const worker = await Worker.create({
    connection,
    namespace: config.temporalNamespace,
    taskQueue: hostQueue(config.hostId),
    activities: {
      ...createHostActivities({ hostId: config.hostId, drivers }),
      ...createImageActivities({
        images: drivers.docker ? new DockerImages(config.dockerSocket) : null, imageStore, cacheDir: hostDir('image-cache'),
        registry: new RegistryClient(config.registry),
      }),
    },
    maxConcurrentActivityTaskExecutions: 20,
  });
  log.info({ taskQueue: hostQueue(config.hostId), kinds: Object.keys(drivers) }, 'host agent running');
  const stop = () => worker.shutdown();
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
  await worker.run();
  clearInterval(beat);
  await connection.close();
  await db.destroy();
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
