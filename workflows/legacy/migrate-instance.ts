// Frozen: the previous release's workflow, kept so its recorded histories replay (see ../index.ts).
import { ActivityFailure, TimeoutFailure, uuid4 } from '@temporalio/workflow';
import { TimeoutType } from '@temporalio/common';
import { control, hostActivities, migration, sourceActivities } from './activity-options';
import { Saga, reasonOf } from './saga';
import type { Restore } from './activity-types';

export interface MigrateInput {
  operationId: string; instanceId: string;
  /** 'latest': a fresh snapshot on a live source, else the latest one there is; 'none': the base image; or a snapshot id. */
  snapshot: string;
  host?: string | null;
  /** From an evacuation that already knows the source is dead: do not wait on it. */
  sourceAlive?: boolean;
  sourceScheduleToStartSeconds?: number;
}

const deadSource = (err: unknown) =>
  err instanceof ActivityFailure && err.cause instanceof TimeoutFailure && err.cause.timeoutType === TimeoutType.SCHEDULE_TO_START;

/**
 * Same id, IP, MAC and hostname on another host. The source is stopped before the target starts,
 * so the address is never on the wire twice; a failure before the commit undoes the target and
 * starts the source again. A dead source's copy is recorded for its agent to destroy on return.
 */
export async function migrateInstance(input: MigrateInput): Promise<{ hostId: string; snapshotId: string | null; sourceAlive: boolean }> {
  const { instanceId, operationId } = input;
  const wait = input.sourceScheduleToStartSeconds ?? 15;
  const begun = await migration.beginMigration(instanceId);
  const saga = new Saga();
  let sourceAlive = input.sourceAlive !== false && begun.sourceHostId !== null;
  try {
    const sourceSpec = await control.getInstanceSpec(instanceId);
    const source = begun.sourceHostId ? sourceActivities(begun.sourceHostId, wait) : null;

    let restore: Restore | null = null;
    if (input.snapshot === 'latest') {
      if (sourceAlive && source) {
        const snapshotId = uuid4();
        await migration.createSnapshotRow(instanceId, snapshotId);
        try {
          const made = await source.snapshotInstance(sourceSpec, snapshotId);
          await migration.markSnapshotReady(snapshotId, made.location, made.digest);
          restore = { snapshotId, location: made.location, digest: made.digest };
        } catch (err) {
          await migration.markSnapshotFailed(snapshotId, reasonOf(err));
          if (!deadSource(err)) throw err;
          sourceAlive = false;
        }
      }
      restore ??= await migration.latestSnapshot(instanceId);
    } else if (input.snapshot !== 'none') {
      restore = await migration.snapshotRestore(input.snapshot);
    }

    if (sourceAlive && source) {
      saga.add('start the source again', async () => {
        await source.startInstance(sourceSpec);
        await source.plumbNetwork(sourceSpec);
      });
      try {
        await source.stopInstance(sourceSpec);
      } catch (err) {
        if (!deadSource(err)) throw err;
        sourceAlive = false;
      }
    }

    saga.add('release the target claim', () => migration.releaseTarget(instanceId));
    const claim = await migration.claimTarget(instanceId, input.host ?? null);
    const spec = await migration.getMigrationSpec(instanceId, restore);
    const target = hostActivities(claim.hostId);
    saga.add('destroy the target copy', () => target.destroyInstance(spec));
    // Whatever an earlier visit left on the target goes first (a stale copy of this very instance).
    await target.destroyInstance(spec);
    await migration.clearStaleCopy(instanceId, claim.hostId);
    await target.ensureImage(spec);
    await target.createInstance(spec);
    await target.startInstance(spec);
    await target.plumbNetwork(spec);

    const moved = await migration.commitMigration(instanceId, begun.previousState === 'stopped' ? 'running' : begun.previousState);
    // The instance lives on the target now: undoing anything would take it down or double its address.
    saga.clear();
    if (moved.from && moved.from !== claim.hostId) {
      let destroyed = false;
      if (sourceAlive && source) {
        try {
          await source.destroyInstance(sourceSpec);
          destroyed = true;
        } catch {
          // Dead or failing, the source keeps a copy: its agent destroys it when it starts again.
        }
      }
      if (!destroyed) await migration.recordStaleCopy(instanceId, moved.from, begun.kind);
    }
    const result = { hostId: claim.hostId, snapshotId: restore?.snapshotId ?? null, sourceAlive };
    await control.finishOperation(operationId, 'succeeded', undefined, result);
    return result;
  } catch (err) {
    const reason = reasonOf(err);
    await saga.compensate();
    await migration.restoreInstanceState(instanceId, begun.previousState);
    await control.finishOperation(operationId, 'failed', reason);
    throw err;
  }
}
