import { Context } from '@temporalio/activity';
import type { InstanceDriver, InstanceKind, InstanceSpec, SnapshotResult } from '../../drivers/instance-driver';
import { plumb, unplumb } from '../../host/bridge-plumbing';
import { probeAddresses, type ProbeRequest } from '../../host/probe';
import { permanentOnKnown } from '../failures';

export interface HostDeps {
  hostId: string;
  drivers: Partial<Record<InstanceKind, InstanceDriver>>;
}

// Host-side activities, served on `host-<hostId>` only: one side effect each, all idempotent.
export function createHostActivities({ hostId, drivers }: HostDeps) {
  const driverFor = (kind: InstanceKind): InstanceDriver => {
    const driver = drivers[kind];
    if (!driver) throw new Error(`host ${hostId} has no ${kind} driver`);
    return driver;
  };

  return {
    async ensureImage(spec: InstanceSpec): Promise<void> {
      await permanentOnKnown(() => driverFor(spec.kind).ensureImage(spec, (detail) => Context.current().heartbeat(detail)));
    },

    async createInstance(spec: InstanceSpec): Promise<void> {
      await permanentOnKnown(() => driverFor(spec.kind).create(spec));
    },

    async startInstance(spec: InstanceSpec): Promise<void> {
      await driverFor(spec.kind).start(spec.instanceId);
    },

    async plumbNetwork(spec: InstanceSpec): Promise<void> {
      if (spec.kind !== 'docker') return; // VMs get their NIC from the domain definition.
      const status = await driverFor('docker').inspect(spec.instanceId);
      if (!status.running || !status.pid) throw new Error(`container for ${spec.instanceId} is not running`);
      await plumb({ instanceId: spec.instanceId, hostId, pid: status.pid, ...spec.network });
    },

    /** start, stop, pause, resume, reboot; a container that (re)starts gets its plumbing again. */
    async actOnInstance(spec: InstanceSpec, action: 'start' | 'stop' | 'pause' | 'resume' | 'reboot'): Promise<void> {
      const driver = driverFor(spec.kind);
      if (action === 'stop' || action === 'reboot') {
        await driver.stop(spec.instanceId);
        if (spec.kind === 'docker') await unplumb(spec.instanceId, hostId);
      }
      if (action === 'start' || action === 'reboot') await driver.start(spec.instanceId);
      if (action === 'pause') await driver.pause(spec.instanceId);
      if (action === 'resume') await driver.resume(spec.instanceId);
      if (spec.kind === 'docker' && (action === 'start' || action === 'reboot' || action === 'resume')) {
        const status = await driver.inspect(spec.instanceId);
        if (!status.running || !status.pid) throw new Error(`container for ${spec.instanceId} is not running`);
        await plumb({ instanceId: spec.instanceId, hostId, pid: status.pid, ...spec.network });
      }
    },

    /** Powers the instance off (a container stops, a VM is destroyed but stays defined). */
    async stopInstance(spec: Pick<InstanceSpec, 'instanceId' | 'kind'>): Promise<void> {
      await driverFor(spec.kind).stop(spec.instanceId);
      if (spec.kind === 'docker') await unplumb(spec.instanceId, hostId);
    },

    async snapshotInstance(spec: Pick<InstanceSpec, 'instanceId' | 'kind'>, snapshotId: string): Promise<SnapshotResult> {
      const ctx = Context.current();
      const ticker = setInterval(() => ctx.heartbeat('snapshotting'), 3000);
      try {
        return await permanentOnKnown(() => driverFor(spec.kind).snapshot(spec.instanceId, snapshotId));
      } finally {
        clearInterval(ticker);
      }
    },

    /** Removes the instance and its plumbing; finding nothing is success. */
    async destroyInstance(spec: Pick<InstanceSpec, 'instanceId' | 'kind'>): Promise<void> {
      await driverFor(spec.kind).destroy(spec.instanceId);
      await unplumb(spec.instanceId, hostId);
    },

    /** Which of a zone's free addresses answer, probed from this host's zone bridge. */
    async probeAddresses(req: ProbeRequest): Promise<string[]> {
      return probeAddresses(req);
    },

  };
}

export type HostActivities = ReturnType<typeof createHostActivities>;
