import path from 'node:path';
import type { Config } from '../../lib/config';
import type { Logger } from '../../lib/logger';
import { DockerDriver } from '../../drivers/docker-driver';
import { LibvirtDriver } from '../../drivers/libvirt-driver';
import { DirImageStore } from '../../images/image-store';
import { DirStorage } from '../../storage/dir-storage';
import { LvmStorage } from '../../storage/lvm-storage';
import type { InstanceDriver, InstanceKind } from '../../drivers/instance-driver';

export type Drivers = Partial<Record<InstanceKind, InstanceDriver>>;

/** A host's directories under the data directory: disks, image cache, scratch space, consoles. */
export const hostDir = (config: Config, what: string): string => path.join(config.dataDir, what, config.hostId);

/** The engines this host has (the agent's and the fence watchdog's view of them): a missing one is left out. */
export async function createDrivers(config: Config, log: Logger): Promise<Drivers> {
  const drivers: Drivers = {};
  const docker = new DockerDriver(config.dockerSocket, config.hostId, config.registry);
  try {
    log.info({ version: (await docker.probe()).version }, 'docker engine found');
    drivers.docker = docker;
  } catch (err) {
    log.warn({ err: String(err) }, 'no docker engine: this host will not take containers');
  }
  const storage = config.storageDriver === 'lvm'
    ? new LvmStorage(config.lvmVolumeGroup)
    : new DirStorage(config.storageDir ?? hostDir(config, 'disks'));
  const libvirt = new LibvirtDriver({
    uri: config.libvirtUri, domainType: config.libvirtDomainType, storage, imageStore: new DirImageStore(config.imageStoreDir),
    cacheDir: hostDir(config, 'image-cache'), workDir: hostDir(config, 'work'), consoleDir: hostDir(config, 'consoles'),
  });
  try {
    log.info({ version: (await libvirt.probe()).version, uri: config.libvirtUri }, 'libvirt found');
    drivers.kvm = libvirt;
  } catch (err) {
    log.warn({ err: String(err) }, 'no libvirt: this host will not take VMs');
  }
  return drivers;
}

/**
 * Fencing by the host itself: every running instance taken off the zone network (a container's
 * veth pair removed, a VM's link set down). Reversible: a repair puts back what the platform did
 * not rebuild elsewhere; what it did is a stale copy, destroyed when the agent is back.
 */
export async function takeOffNetwork(drivers: Drivers): Promise<string[]> {
  const done: string[] = [];
  for (const driver of Object.values(drivers)) {
    for (const o of await driver!.inventory(false)) {
      if (o.state === 'absent' || !o.attached) continue;
      await driver!.detachNetwork(o.instanceId);
      done.push(o.instanceId);
    }
  }
  return done;
}
