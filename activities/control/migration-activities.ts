import crypto from 'node:crypto';
import { assertRegistryOpen } from '../../db/registry-maintenance';
import { claimTargetHost, commitTargetHost, releaseTargetHost, type Claim } from '../../db/placement';
import { getInstance, lockInstance, transitionInstance } from '../../db/instances';
import {
  clearStaleCopy, getSnapshot, insertSnapshot, latestReadySnapshot, markSnapshot, recordStaleCopy,
} from '../../db/snapshots';
import { getOperation, insertOperation, nextSequence, type OpRef } from '../../db/operations';
import { liveSince } from '../../db/host-liveness';
import { ConflictError, StateConflictError } from '../../lib/errors';
import { MOVABLE_STATES, type InstanceState } from '../../lib/instance-states';
import { DirImageStore } from '../../images/image-store';
import { RegistryClient } from '../../images/registry';
import { discardSnapshotData } from '../../images/snapshot-data';
import { inRun, type ControlDeps, type Restore } from './instance-activities';

export interface EvacuationProgress {
  total: number; done: number; failed: number; remaining: number; failures: { instanceId: string; reason: string }[];
  /** Instances that left the host or changed state before their turn: not moved, never revived. */
  skipped?: number;
  /** The instances moved away: what `POST /v1/hosts/:id/restore` brings back. */
  moved?: string[];
  /** How a dead host was fenced before its instances were rebuilt (null: it was alive). */
  fencedBy?: string | null;
}
export type ChildMigration = { operationId: string; workflowId: string } | { skip: string };

// Control side of snapshots, migration and evacuation: each step one transaction that checks its
// operation's run first, idempotent.
export function createMigrationActivities(deps: ControlDeps) {
  const { db } = deps;
  const store = new DirImageStore(deps.imageStoreDir);
  const registry = new RegistryClient(deps.registry);

  return {
    /** The instance into `migrating`, its prior state kept on the operation (a retry or reset reads it back). */
    async beginMigrate(op: OpRef, instanceId: string): Promise<{ sourceHostId: string | null; kind: 'docker' | 'kvm'; priorState: InstanceState; committed: boolean }> {
      return inRun(db, op, async (trx) => {
        const row = (await getOperation(trx, op.operationId))!;
        const instance = (await lockInstance(trx, instanceId))!;
        const prior = (row.prior_state ?? instance.state) as InstanceState;
        if (!MOVABLE_STATES.includes(prior)) throw new StateConflictError(`instance ${instanceId} was ${prior}: only a running or stopped instance moves`);
        if (instance.state === 'migrating' || MOVABLE_STATES.includes(instance.state)) {
          await transitionInstance(trx, instanceId, 'migrating', { from: MOVABLE_STATES });
        } else {
          throw new StateConflictError(`instance ${instanceId} is ${instance.state}: it cannot migrate`);
        }
        if (!row.prior_state) await trx('operations').where({ id: op.operationId }).update({ prior_state: prior });
        return { sourceHostId: instance.host_id, kind: instance.kind, priorState: prior, committed: false };
      });
    },

    async claimTarget(op: OpRef, instanceId: string, pinnedHostId: string | null): Promise<Claim> {
      await inRun(db, op, async () => undefined);
      return claimTargetHost(db, instanceId, pinnedHostId, deps.ratios, deps.hostLiveSeconds);
    },

    async releaseTarget(op: OpRef, instanceId: string): Promise<void> {
      await inRun(db, op, (trx) => releaseTargetHost(trx, instanceId));
    },

    /** Snapshot rows: one per snapshot id; a reset run of a failed snapshot makes it pending again. */
    async beginSnapshot(op: OpRef, instanceId: string, snapshotId: string): Promise<void> {
      await inRun(db, op, async (trx) => {
        const instance = await lockInstance(trx, instanceId);
        if (!instance || !MOVABLE_STATES.includes(instance.state) || !instance.host_id) {
          throw new StateConflictError(`instance ${instanceId} is ${instance?.state}: only a running or stopped instance has a snapshot`);
        }
        if (instance.kind === 'docker') await assertRegistryOpen(trx);
        await insertSnapshot(trx, { id: snapshotId, instanceId, kind: instance.kind });
        await trx('snapshots').where({ id: snapshotId, state: 'failed' }).update({ state: 'pending', failure: null });
      });
    },
    /** A migration's fresh snapshot of its source. */
    async createSnapshotRow(op: OpRef, instanceId: string, snapshotId: string): Promise<void> {
      await inRun(db, op, async (trx) => {
        const instance = (await getInstance(trx, instanceId))!;
        if (instance.kind === 'docker') await assertRegistryOpen(trx);
        await insertSnapshot(trx, { id: snapshotId, instanceId, kind: instance.kind });
      });
    },
    async markSnapshotReady(op: OpRef, snapshotId: string, location: string, digest: string): Promise<void> {
      await inRun(db, op, (trx) => markSnapshot(trx, snapshotId, { state: 'ready', location, digest }));
    },
    async markSnapshotFailed(op: OpRef, snapshotId: string, failure: string): Promise<void> {
      await inRun(db, op, (trx) => trx('snapshots').where({ id: snapshotId }).whereIn('state', ['pending', 'failed']).update({ state: 'failed', failure }));
    },
    /** What a failed snapshot may have left: its registry tag or its store file (names are fixed by its id). */
    async discardSnapshot(op: OpRef, snapshotId: string): Promise<void> {
      await inRun(db, op, async () => undefined);
      const s = await getSnapshot(db, snapshotId);
      if (s && s.state !== 'ready') await discardSnapshotData(s, registry, store);
    },
    async latestSnapshot(op: OpRef, instanceId: string): Promise<Restore | null> {
      await inRun(db, op, async () => undefined);
      const s = await latestReadySnapshot(db, instanceId);
      return s ? { snapshotId: s.id, location: s.location!, digest: s.digest } : null;
    },
    async snapshotRestore(op: OpRef, snapshotId: string): Promise<Restore> {
      await inRun(db, op, async () => undefined);
      const s = await getSnapshot(db, snapshotId);
      if (!s || s.state !== 'ready') throw new StateConflictError(`snapshot ${snapshotId} is not ready`);
      return { snapshotId: s.id, location: s.location!, digest: s.digest };
    },

    async clearStaleCopy(op: OpRef, instanceId: string, hostId: string): Promise<void> {
      await inRun(db, op, (trx) => clearStaleCopy(trx, instanceId, hostId));
    },

    /**
     * The move, in one transaction: the target claim becomes the instance's, the source's capacity
     * goes back, the source's copy is recorded for destruction (whoever gets there first: this
     * workflow, the reconciler or the source's agent), and the instance is back in its prior state.
     * A retried commit finds it done.
     */
    async commitMigration(op: OpRef, instanceId: string, sourceHostId: string | null, to: InstanceState): Promise<void> {
      await inRun(db, op, async (trx) => {
        const instance = (await lockInstance(trx, instanceId))!;
        if (instance.state !== 'migrating') {
          if (instance.state === to && !instance.target_host_id) return;
          throw new StateConflictError(`instance ${instanceId} is ${instance.state}: the move cannot commit`);
        }
        if (!instance.target_host_id) throw new StateConflictError(`instance ${instanceId} has no target claim to commit`);
        await commitTargetHost(trx, instanceId);
        if (sourceHostId && sourceHostId !== instance.target_host_id) await recordStaleCopy(trx, instanceId, sourceHostId, instance.kind);
        await transitionInstance(trx, instanceId, to, { from: ['migrating'] });
      });
    },

    async hostAlive(hostId: string): Promise<boolean> {
      return Boolean(await db('hosts').where({ id: hostId }).where(liveSince(deps.hostLiveSeconds)).first('id'));
    },

    /** The host is draining (the API set it with the operation; a reset run sets it again). */
    async beginEvacuate(op: OpRef, hostId: string, reopened: boolean): Promise<{ priorState: 'enabled' | 'disabled' | 'down' }> {
      return inRun(db, op, async (trx) => {
        const row = (await getOperation(trx, op.operationId))!;
        const host = await trx('hosts').where({ id: hostId }).forUpdate().first();
        if (host.state !== 'draining') {
          if (!reopened) throw new StateConflictError(`host ${hostId} is ${host.state}, not draining`);
          await trx('hosts').where({ id: hostId }).update({ state: 'draining' });
        }
        const prior = row.prior_state ?? 'enabled';
        return { priorState: (prior === 'draining' ? 'enabled' : prior) as 'enabled' | 'disabled' | 'down' };
      });
    },
    async instancesOnHost(op: OpRef, hostId: string): Promise<string[]> {
      return inRun(db, op, (trx) => trx('instances').where({ host_id: hostId }).whereIn('state', MOVABLE_STATES).orderBy('created_at').pluck('id'));
    },
    /**
     * The child's operation row, after reading the instance again: one that left the host, or is
     * no longer running or stopped (deleted meanwhile, say), is skipped, never revived.
     */
    async beginChildMigration(op: OpRef, fromHostId: string | null, instanceId: string, requestedBy: string | null, input: Record<string, unknown>): Promise<ChildMigration> {
      return inRun(db, op, async (trx) => {
        const instance = await lockInstance(trx, instanceId);
        if (!instance || (fromHostId !== null && instance.host_id !== fromHostId)) return { skip: 'it is no longer on the host' };
        if (input.host && instance.host_id === input.host) return { skip: 'it is already there' };
        if (!MOVABLE_STATES.includes(instance.state)) return { skip: `it is ${instance.state}` };
        const n = await nextSequence(trx, { instance_id: instanceId }, 'migrate');
        const operationId = crypto.randomUUID();
        const workflowId = `instance-${instanceId}-migrate-${n}`;
        try {
          await insertOperation(trx, {
            id: operationId, type: 'migrate', workflowId, workflowType: 'migrateInstance', requestedBy, instanceId,
            priorState: instance.state, input: [{ operationId, instanceId, ...input }],
          });
        } catch (err) {
          if (err instanceof ConflictError) return { skip: err.message };
          throw err;
        }
        return { operationId, workflowId };
      });
    },
    /** A restored host takes work again. */
    async enableHost(op: OpRef, hostId: string): Promise<void> {
      await inRun(db, op, (trx) => trx('hosts').where({ id: hostId }).whereIn('state', ['disabled', 'down', 'enabled']).update({ state: 'enabled' }));
    },
    /** draining -> `to`: disabled when the evacuation is done, the prior state when it is undone. */
    async endEvacuation(op: OpRef, hostId: string, to: 'enabled' | 'disabled' | 'down'): Promise<void> {
      await inRun(db, op, (trx) => trx('hosts').where({ id: hostId, state: 'draining' }).update({ state: to }));
    },
  };
}
export type MigrationActivities = ReturnType<typeof createMigrationActivities>;
