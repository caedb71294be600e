import crypto from 'node:crypto';
import type { Knex } from 'knex';
import { claimTargetHost, commitTargetHost, releaseTargetHost, type Claim } from '../../db/placement';
import { getInstance, setInstanceState, type InstanceState } from '../../db/instances';
import {
  clearStaleCopy, getSnapshot, insertSnapshot, latestReadySnapshot, listSnapshots, markSnapshot, recordStaleCopy,
} from '../../db/snapshots';
import { insertOperation } from '../../db/operations';
import { setHostState } from '../../db/hosts';
import { liveSince } from '../../db/host-liveness';
import { ConflictError } from '../../lib/errors';
import { DirImageStore } from '../../images/image-store';
import { RegistryClient } from '../../images/registry';
import { deleteSnapshotData } from '../../images/snapshot-data';
import { permanentOnKnown } from '../failures';
import type { InstanceSpec } from '../../drivers/instance-driver';
import type { ControlActivities } from './instance-activities';

export interface MigrationDeps {
  db: Knex; ratios: { cpu: number; memory: number }; hostLiveSeconds: number; registry: string; imageStoreDir: string;
  getInstanceSpec: ControlActivities['getInstanceSpec'];
}
export interface Restore { snapshotId: string; location: string; digest: string | null }
export interface EvacuationProgress { total: number; done: number; failed: number; remaining: number; failures: { instanceId: string; reason: string }[] }

// Control side of snapshots, migration and evacuation: database steps, each idempotent.
export function createMigrationActivities(deps: MigrationDeps) {
  const { db } = deps;
  const store = new DirImageStore(deps.imageStoreDir);
  const registry = new RegistryClient(deps.registry);

  return {
    async beginMigration(instanceId: string): Promise<{ sourceHostId: string | null; kind: 'docker' | 'kvm'; previousState: InstanceState }> {
      const instance = (await getInstance(db, instanceId))!;
      const previousState = instance.state === 'migrating' ? 'running' : instance.state;
      await setInstanceState(db, instanceId, 'migrating');
      return { sourceHostId: instance.host_id, kind: instance.kind, previousState };
    },
    async restoreInstanceState(instanceId: string, state: InstanceState): Promise<void> {
      await setInstanceState(db, instanceId, state);
    },
    async createSnapshotRow(instanceId: string, snapshotId: string): Promise<void> {
      const instance = (await getInstance(db, instanceId))!;
      await insertSnapshot(db, { id: snapshotId, instanceId, kind: instance.kind });
    },
    async markSnapshotReady(snapshotId: string, location: string, digest: string): Promise<void> {
      await markSnapshot(db, snapshotId, { state: 'ready', location, digest });
    },
    async markSnapshotFailed(snapshotId: string, failure: string): Promise<void> {
      await markSnapshot(db, snapshotId, { state: 'failed', failure });
    },
    async latestSnapshot(instanceId: string): Promise<Restore | null> {
      const s = await latestReadySnapshot(db, instanceId);
      return s ? { snapshotId: s.id, location: s.location!, digest: s.digest } : null;
    },
    async snapshotRestore(snapshotId: string): Promise<Restore> {
      const s = await getSnapshot(db, snapshotId);
      if (!s || s.state !== 'ready') throw new Error(`snapshot ${snapshotId} is not ready`);
      return { snapshotId: s.id, location: s.location!, digest: s.digest };
    },
    async claimTarget(instanceId: string, pinnedHostId: string | null): Promise<Claim> {
      return permanentOnKnown(() => claimTargetHost(db, instanceId, pinnedHostId, deps.ratios, deps.hostLiveSeconds));
    },
    async releaseTarget(instanceId: string): Promise<void> {
      await releaseTargetHost(db, instanceId);
    },
    /** The instance as the target must build it: the target's cpuset, the snapshot as its source. */
    async getMigrationSpec(instanceId: string, restore: Restore | null): Promise<InstanceSpec & { hostId: string | null }> {
      const spec = await deps.getInstanceSpec(instanceId);
      const row = await db('instances').where({ id: instanceId }).first('target_host_id', 'target_cpuset');
      const moved = { ...spec, hostId: row.target_host_id, cpuset: row.target_cpuset ?? spec.cpuset };
      if (!restore) return { ...moved, restore: null };
      if (spec.kind === 'docker') return { ...moved, image: { ...spec.image, location: restore.location, digest: restore.digest }, restore: null };
      return { ...moved, restore: { location: restore.location, digest: restore.digest } };
    },
    async commitMigration(instanceId: string, state: InstanceState): Promise<{ from: string | null; to: string }> {
      const moved = await commitTargetHost(db, instanceId);
      await setInstanceState(db, instanceId, state);
      return moved;
    },
    async recordStaleCopy(instanceId: string, hostId: string, kind: string): Promise<void> {
      await recordStaleCopy(db, instanceId, hostId, kind);
    },
    async clearStaleCopy(instanceId: string, hostId: string): Promise<void> {
      await clearStaleCopy(db, instanceId, hostId);
    },
    /** A deleted instance's snapshots go with it: registry manifests and store files. */
    async deleteSnapshotsOf(instanceId: string): Promise<number> {
      const snapshots = await listSnapshots(db, instanceId);
      for (const s of snapshots) {
        await deleteSnapshotData(s, registry, store).catch(() => undefined);
        await markSnapshot(db, s.id, { state: 'deleted' });
      }
      return snapshots.length;
    },

    async hostAlive(hostId: string): Promise<boolean> {
      return Boolean(await db('hosts').where({ id: hostId }).where(liveSince(deps.hostLiveSeconds)).first('id'));
    },
    async instancesOnHost(hostId: string): Promise<string[]> {
      return db('instances').where({ host_id: hostId }).whereNotIn('state', ['deleted', 'failed', 'deleting']).orderBy('created_at').pluck('id');
    },
    /** The child's operation row: it takes the instance's one-operation lock like any migrate. */
    async beginChildMigration(instanceId: string, requestedBy: string | null): Promise<{ operationId: string; workflowId: string } | { conflict: string }> {
      const existing = await db('operations').where({ instance_id: instanceId, type: 'migrate', state: 'running' }).first();
      if (existing) return { operationId: existing.id, workflowId: existing.workflow_id };
      const n = Number((await db('operations').where({ instance_id: instanceId, type: 'migrate' }).count('* as n').first())!.n) + 1;
      const operationId = crypto.randomUUID();
      const workflowId = `instance-${instanceId}-migrate-${n}`;
      try {
        await insertOperation(db, { id: operationId, type: 'migrate', workflowId, requestedBy, instanceId });
      } catch (err) {
        if (err instanceof ConflictError) return { conflict: err.message };
        throw err;
      }
      return { operationId, workflowId };
    },
    async recordProgress(operationId: string, progress: EvacuationProgress): Promise<void> {
      await db('operations').where({ id: operationId }).update({ progress: JSON.stringify(progress) });
    },
    async setHostState(hostId: string, state: 'enabled' | 'draining' | 'disabled'): Promise<void> {
      await setHostState(db, hostId, state);
    },
  };
}
export type MigrationActivities = ReturnType<typeof createMigrationActivities>;
