import type { Knex } from 'knex';
import type { Db } from '../../db/connection';
import { claimHost, releaseHost, type Claim } from '../../db/placement';
import { allocateAddress, releaseAddress, type Allocation } from '../../db/ipam';
import { instanceWithImageAndZone, lockInstance, transitionInstance, type Transition } from '../../db/instances';
import {
  assertRun, claimOperation, finishOperation, getOperation, recordProgress, setOperationHost, type OpRef, type Outcome,
} from '../../db/operations';
import { listSnapshots, markSnapshot } from '../../db/snapshots';
import { parseCidr } from '../../lib/net';
import { StateConflictError } from '../../lib/errors';
import {
  ACTIONS, DELETABLE_STATES, SETTLED_STATES, type Action, type InstanceState, type SettledState,
} from '../../lib/instance-states';
import { DirImageStore } from '../../images/image-store';
import { RegistryClient } from '../../images/registry';
import { deleteSnapshotData } from '../../images/snapshot-data';
import type { InstanceSpec } from '../../drivers/instance-driver';
import type { SizeClaim } from '../../lib/resize-plan';

export interface ControlDeps {
  db: Knex;
  ratios: { cpu: number; memory: number };
  hostLiveSeconds: number;
  registry: string;
  imageStoreDir: string;
}

export interface Restore { snapshotId: string; location: string; digest: string | null }
export type HostedSpec = InstanceSpec & { hostId: string | null };

/** A step of `op`: its own transaction, after checking that the operation is still this run's. */
export const inRun = <T>(db: Knex, op: OpRef, fn: (trx: Knex.Transaction) => Promise<T>): Promise<T> =>
  db.transaction(async (trx) => {
    await assertRun(trx, op);
    return fn(trx);
  });

/** A resize that moves builds the target copy at the new size, with maxima from it (none: a domain without headroom). */
function movedSize(row: { resize_to?: SizeClaim | null }): Partial<InstanceSpec> {
  const to = row.resize_to;
  if (!to) return {};
  return { vcpus: to.vcpus, memoryMb: to.memoryMb, diskGb: to.diskGb, maxVcpus: to.maxVcpus ?? undefined, maxMemoryMb: to.maxMemoryMb ?? undefined };
}

/** Everything a host needs to build or act on the instance, read fresh (one query) so a host never reads the database. */
export async function readSpec(db: Db, instanceId: string, on: 'home' | 'target' = 'home', restore: Restore | null = null): Promise<HostedSpec> {
  const row = await instanceWithImageAndZone(db, instanceId);
  if (!row) throw new StateConflictError(`instance ${instanceId} does not exist`);
  const spec: HostedSpec = {
    instanceId, kind: row.kind, hostname: row.hostname ?? row.name, hostId: row.host_id,
    image: { id: row.image_id, kind: row.image_kind, location: row.image_location, digest: row.image_digest, boot: row.image_boot },
    vcpus: row.vcpus, memoryMb: row.memory_mb, diskGb: row.disk_gb, cpuset: row.cpuset ?? [],
    network: { bridge: row.bridge, ip: row.ip ?? '', prefix: parseCidr(row.subnet).prefix, gateway: row.gateway, mac: row.mac ?? '' },
    restore: null, ...(row.authorized_keys ? { authorizedKeys: row.authorized_keys } : {}),
    ...(row.max_vcpus ? { maxVcpus: row.max_vcpus, maxMemoryMb: row.max_memory_mb } : {}),
  };
  const placed = on === 'target' ? { ...spec, ...movedSize(row as { resize_to?: SizeClaim | null }), hostId: row.target_host_id, cpuset: row.target_cpuset ?? spec.cpuset } : spec;
  if (!restore) return placed;
  // A container restores from its committed image; a VM's disk from the snapshot in the store.
  if (spec.kind === 'docker') return { ...placed, image: { ...spec.image, location: restore.location, digest: restore.digest } };
  return { ...placed, restore: { location: restore.location, digest: restore.digest } };
}

/** Address and capacity back, in the caller's transaction; both are no-ops when already given back. */
export async function releaseHoldings(trx: Knex.Transaction, instanceId: string): Promise<void> {
  await releaseAddress(trx, instanceId);
  await releaseHost(trx, instanceId);
}

// Control-side steps of creates, deletes and state changes: each one database transaction that
// checks its operation's run first, idempotent, so Temporal may retry any of them.
export function createInstanceActivities({ db, ratios, hostLiveSeconds, registry, imageStoreDir }: ControlDeps) {
  const store = new DirImageStore(imageStoreDir);
  const registryClient = new RegistryClient(registry);
  return {
    /** The API set `deleting` with the operation; a reset run of a delete that failed sets it again. */
    async beginDelete(op: OpRef, instanceId: string, reopened: boolean): Promise<{ done: boolean; priorState: InstanceState | null }> {
      return inRun(db, op, async (trx) => {
        const row = await getOperation(trx, op.operationId);
        const instance = await lockInstance(trx, instanceId);
        const priorState = (row?.prior_state ?? null) as InstanceState | null;
        if (!instance || instance.state === 'deleted') return { done: true, priorState };
        await transitionInstance(trx, instanceId, 'deleting', { from: reopened ? [...DELETABLE_STATES, 'deleting'] : ['deleting'] });
        return { done: false, priorState };
      });
    },

    /** This run takes the operation (the first step of every run; see workflows/operation.ts). */
    async beginOperation(op: OpRef): Promise<{ reopened: boolean; finished?: { result: unknown } }> {
      const { row, reopened, finished } = await db.transaction((trx) => claimOperation(trx, op));
      return finished ? { reopened, finished: { result: row.result } } : { reopened };
    },

    /** The check alone: this run still owns the operation (before a host step that needs no spec). */
    async guard(op: OpRef): Promise<void> {
      await inRun(db, op, async () => undefined);
    },

    /** An action starts from its fixed states; found already where it leads (a reset run), it is done. */
    async beginAction(op: OpRef, instanceId: string, action: Action): Promise<{ done: boolean }> {
      return inRun(db, op, async (trx) => {
        const instance = await lockInstance(trx, instanceId);
        const { from, to } = ACTIONS[action];
        if (instance && (from as readonly InstanceState[]).includes(instance.state)) return { done: false };
        if (instance?.state === to) return { done: true };
        throw new StateConflictError(`instance ${instanceId} is ${instance?.state}: it cannot ${action}`);
      });
    },

    /** Closes the operation of this run; a retried close changes nothing. */
    async finishOperation(op: OpRef, outcome: Outcome): Promise<void> {
      await finishOperation(db, op, outcome);
    },

    async recordProgress(op: OpRef, progress: unknown, stamp?: number): Promise<void> {
      await inRun(db, op, (trx) => recordProgress(trx, op.operationId, progress, stamp));
    },

    async placeInstance(op: OpRef, instanceId: string): Promise<Claim> {
      await inRun(db, op, async () => undefined);
      const claim = await claimHost(db, instanceId, ratios, hostLiveSeconds);
      await setOperationHost(db, op.operationId, claim.hostId);
      return claim;
    },

    async releaseHostCapacity(op: OpRef, instanceId: string): Promise<void> {
      await inRun(db, op, (trx) => releaseHost(trx, instanceId));
    },

    async allocateIp(op: OpRef, instanceId: string): Promise<Allocation> {
      return inRun(db, op, async (trx) => allocateAddress(trx, (await lockInstance(trx, instanceId))!));
    },

    async releaseIp(op: OpRef, instanceId: string): Promise<void> {
      await inRun(db, op, (trx) => releaseAddress(trx, instanceId));
    },

    /** The guard before every host step: this run still owns the operation, and the spec is fresh. */
    async instanceSpec(op: OpRef, instanceId: string, on: 'home' | 'target' = 'home', restore: Restore | null = null): Promise<HostedSpec> {
      return inRun(db, op, (trx) => readSpec(trx, instanceId, on, restore));
    },

    /**
     * A compare-and-set state change (lib/instance-states.ts decides which are allowed). With
     * `onlyIfOwned` (an operation settling after a failure), an instance found in a state the
     * operation does not own is left alone.
     */
    async settleInstance(op: OpRef, instanceId: string, to: InstanceState, t: Transition & { onlyIfOwned?: boolean } = {}): Promise<'moved' | 'already' | 'left'> {
      return inRun(db, op, async (trx) => {
        try {
          return await transitionInstance(trx, instanceId, to, t);
        } catch (err) {
          if (t.onlyIfOwned && err instanceof StateConflictError) return 'left';
          throw err;
        }
      });
    },

    /**
     * The copy on the host may not match what the database says (an action or a snapshot stopped half
     * way and its undo could not run): the instance is repaired back to the state it is in.
     */
    async repairInPlace(op: OpRef, instanceId: string, failure: string): Promise<void> {
      await inRun(db, op, async (trx) => {
        const instance = await lockInstance(trx, instanceId);
        if (!instance || !(SETTLED_STATES as readonly string[]).includes(instance.state)) return;
        await transitionInstance(trx, instanceId, 'repairing', { from: [instance.state], failure, repairTo: instance.state as SettledState });
      });
    },

    /** A deleted instance's snapshots go with it: registry manifests and store files. */
    async deleteSnapshotsOf(op: OpRef, instanceId: string): Promise<number> {
      await inRun(db, op, async () => undefined);
      const snapshots = await listSnapshots(db, instanceId);
      for (const s of snapshots) {
        await deleteSnapshotData(s, registryClient, store);
        await markSnapshot(db, s.id, { state: 'deleted' });
      }
      return snapshots.length;
    },

    /** The end of a delete, in one transaction: address and capacity back, the instance deleted. */
    async finishDelete(op: OpRef, instanceId: string): Promise<void> {
      await inRun(db, op, async (trx) => {
        await releaseHoldings(trx, instanceId);
        await transitionInstance(trx, instanceId, 'deleted', { from: ['deleting'] });
      });
    },
  };
}

export type InstanceActivities = ReturnType<typeof createInstanceActivities>;
