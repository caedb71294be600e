import type { EngineObject, InstanceDriver, InstanceKind, InstanceSpec, SnapshotResult } from '../../drivers/instance-driver';
import { PermanentDriverError } from '../../drivers/instance-driver';
import { probeAddresses, type ProbeRequest } from '../../host/probe';
import type { Action, SettledState } from '../../lib/instance-states';
import { HostSteps, type StepTools } from './host-step';

export interface HostDeps {
  hostId: string;
  drivers: Partial<Record<InstanceKind, InstanceDriver>>;
}

export interface HostInventory { hostId: string; objects: EngineObject[]; kinds: InstanceKind[] }
type Ref = Pick<InstanceSpec, 'instanceId' | 'kind'>;

// Host-side activities, served on `host-<hostId>` only: one side effect each, all idempotent, each
// a HostSteps step (heartbeats, one attempt at a time per instance, cancellable commands).
export function createHostActivities({ hostId, drivers }: HostDeps) {
  const steps = new HostSteps(`host-${hostId}`);
  const driverFor = (kind: InstanceKind): InstanceDriver => {
    const driver = drivers[kind];
    if (!driver) throw new PermanentDriverError(`host ${hostId} has no ${kind} driver`);
    return driver;
  };

  /** Off and off its network: a stopped copy holds no address on the wire. */
  async function powerOff(driver: InstanceDriver, instanceId: string): Promise<void> {
    await driver.stop(instanceId);
    await driver.detachNetwork(instanceId);
  }

  /** The engine object made to match `want` (the state the database says it is in). */
  async function converge(spec: InstanceSpec, want: SettledState, conformSize: boolean): Promise<string[]> {
    const driver = driverFor(spec.kind);
    const done: string[] = [];
    await driver.endSnapshot(spec.instanceId);
    const now = await driver.inspect(spec.instanceId);
    if (!now.exists) throw new PermanentDriverError(`host ${hostId} has no copy of ${spec.instanceId} to bring back`);
    if (conformSize) {
      // An abandoned resize: the copy may have either size; it takes the database's before its state.
      await driver.resize(spec, want !== 'stopped' && (now.running || now.paused));
      done.push('size conformed');
    }
    if (want === 'stopped') {
      if (now.running || now.paused) { await driver.stop(spec.instanceId); done.push('stopped'); }
      await driver.detachNetwork(spec.instanceId);
      return done;
    }
    if (now.paused && want === 'running') { await driver.resume(spec.instanceId); done.push('resumed'); }
    if (!now.running && !now.paused) { await driver.start(spec.instanceId); done.push('started'); }
    await driver.attachNetwork(spec);
    if (want === 'paused' && !(await driver.inspect(spec.instanceId)).paused) { await driver.pause(spec.instanceId); done.push('paused'); }
    return done;
  }

  /**
   * A copy built from its spec, one phase at a time (each named in the heartbeat details): the image
   * (alone per image: two instances of one template share its cache), the engine object, and, if it is
   * to run, its start and its network. Each phase is idempotent, so a retry runs them all again.
   */
  async function buildPhases(t: StepTools, spec: InstanceSpec, running: boolean): Promise<void> {
    const driver = driverFor(spec.kind);
    await t.phase('ensureImage', () => t.exclusive(`image:${spec.image.id}`, () => driver.ensureImage(spec, (detail) => t.progress('ensureImage', { detail }))));
    await t.phase('createInstance', () => driver.create(spec));
    if (!running) return;
    await t.phase('startInstance', () => driver.start(spec.instanceId));
    await t.phase('plumbNetwork', () => driver.attachNetwork(spec));
  }

  return {
    async ensureImage(spec: InstanceSpec): Promise<void> {
      // Keyed by image: two instances of one template share its cache.
      await steps.run('ensureImage', `image:${spec.image.id}`, (t) => driverFor(spec.kind).ensureImage(spec, (detail) => t.progress(detail)));
    },

    /**
     * A create's host work as one activity (one dispatch and one workflow task where there were
     * four): the image, the engine object, its start and its network, each phase idempotent and
     * named in the heartbeat details, so the Temporal UI shows where a build is; a retry runs them
     * all again and each finds what an earlier attempt did.
     */
    async buildInstance(spec: InstanceSpec): Promise<void> {
      await steps.run('buildInstance', spec.instanceId, (t) => buildPhases(t, spec, true));
    },

    /**
     * A move's copy on its target (a migration's, a resize's that moves) as one activity: whatever an
     * earlier visit left here goes first (a stale copy of this very instance, or an earlier attempt's
     * half-restored one), then the image, the copy from the spec's restore, and, if the instance ran,
     * its start and its network. A retry builds it afresh the same way.
     */
    async buildCopy(spec: InstanceSpec, running: boolean): Promise<void> {
      await steps.run('buildCopy', spec.instanceId, async (t) => {
        await t.phase('clearTarget', () => driverFor(spec.kind).destroy(spec.instanceId));
        await buildPhases(t, spec, running);
      });
    },

    async createInstance(spec: InstanceSpec): Promise<void> {
      await steps.run('createInstance', spec.instanceId, () => driverFor(spec.kind).create(spec));
    },

    async startInstance(spec: InstanceSpec): Promise<void> {
      await steps.run('startInstance', spec.instanceId, () => driverFor(spec.kind).start(spec.instanceId));
    },

    async plumbNetwork(spec: InstanceSpec): Promise<void> {
      await steps.run('plumbNetwork', spec.instanceId, () => driverFor(spec.kind).attachNetwork(spec));
    },

    /** start, stop, pause, resume, reboot; a (re)started instance is put on its network again. */
    async actOnInstance(spec: InstanceSpec, action: Action): Promise<void> {
      await steps.run('actOnInstance', spec.instanceId, async () => {
        const driver = driverFor(spec.kind);
        if (action === 'stop' || action === 'reboot') await powerOff(driver, spec.instanceId);
        if (action === 'start' || action === 'reboot') await driver.start(spec.instanceId);
        if (action === 'pause') await driver.pause(spec.instanceId);
        if (action === 'resume') await driver.resume(spec.instanceId);
        if (action !== 'stop' && action !== 'pause') await driver.attachNetwork(spec);
      });
    },

    /** Powers the instance off (a container stops, a VM is destroyed but stays defined). */
    async stopInstance(spec: Ref): Promise<void> {
      await steps.run('stopInstance', spec.instanceId, () => powerOff(driverFor(spec.kind), spec.instanceId));
    },

    async snapshotInstance(spec: Ref, snapshotId: string): Promise<SnapshotResult> {
      return steps.run('snapshotInstance', spec.instanceId, (t) => {
        t.progress('snapshotting', { snapshotId });
        return driverFor(spec.kind).snapshot(spec.instanceId, snapshotId);
      });
    },

    /**
     * A move's steps on its source as one activity (one dispatch and one workflow task where there were
     * two): the snapshot it restores from, if asked (`snapshotId`), then the power-off and the network's
     * removal, each a phase named in the heartbeat details. A retry runs both again: a second snapshot
     * under the same id replaces the first, taken from a copy that may be stopped by then.
     */
    async snapshotAndStop(spec: Ref, snapshotId: string | null): Promise<SnapshotResult | null> {
      return steps.run('snapshotAndStop', spec.instanceId, async (t) => {
        const driver = driverFor(spec.kind);
        const made = snapshotId ? await t.phase('snapshotInstance', () => driver.snapshot(spec.instanceId, snapshotId)) : null;
        await t.phase('stopInstance', () => powerOff(driver, spec.instanceId));
        return made;
      });
    },

    /** Compensation of a snapshot: thaws or resumes what it froze or paused. */
    async endSnapshot(spec: Ref): Promise<void> {
      await steps.run('endSnapshot', spec.instanceId, () => driverFor(spec.kind).endSnapshot(spec.instanceId));
    },

    /** Removes the instance, its disk and its network; finding nothing is success. */
    async destroyInstance(spec: Ref): Promise<void> {
      await steps.run('destroyInstance', spec.instanceId, () => driverFor(spec.kind).destroy(spec.instanceId));
    },

    /** A repair: the copy here brought to the state the database says, without entering the guest. */
    async convergeInstance(spec: InstanceSpec, want: SettledState, conformSize = false): Promise<string[]> {
      return steps.run('convergeInstance', spec.instanceId, () => converge(spec, want, conformSize));
    },

    /** The spec's size given to the instance (lib/resize-plan.ts says how), ending running or stopped; answers the disk's size after. */
    async resizeInstance(spec: InstanceSpec, want: 'running' | 'stopped'): Promise<{ diskGb: number | null }> {
      return steps.run('resizeInstance', spec.instanceId, async (t) => {
        t.progress('resizing', { vcpus: spec.vcpus, memoryMb: spec.memoryMb, diskGb: spec.diskGb });
        const driver = driverFor(spec.kind);
        const size = await driver.resize(spec, want === 'running');
        if (want === 'running') await driver.attachNetwork(spec);
        return size;
      });
    },

    /** What the engines of this host hold that is the platform's (the reconciler's and the checker's view). */
    async inventory(detail = false): Promise<HostInventory> {
      const objects: EngineObject[] = [];
      for (const driver of Object.values(drivers)) objects.push(...await driver!.inventory(detail));
      return { hostId, objects, kinds: Object.keys(drivers) as InstanceKind[] };
    },

    /** Which of a zone's free addresses answer, probed from this host's zone bridge. */
    async probeAddresses(req: ProbeRequest): Promise<string[]> {
      return probeAddresses(req);
    },
  };
}

export type HostActivities = ReturnType<typeof createHostActivities>;
