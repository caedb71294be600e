import { ApplicationFailure, patched } from '@temporalio/workflow';
import { control, onHost } from './activity-options';
import { LIFECYCLE_V2, runOperation } from './operation';
import { snapshotInstance as legacySnapshotInstance } from './legacy/snapshot-instance';

export interface SnapshotInput { operationId: string; instanceId: string; snapshotId: string; hostScheduleToStartSeconds?: number }

/**
 * container: commit + push; VM: disk as qcow2 in the image store (filesystems frozen by the guest
 * agent). Undone: the instance thawed or resumed, what was stored removed, the snapshot failed.
 */
export async function snapshotInstance(input: SnapshotInput): Promise<{ snapshotId: string; consistency: string }> {
  if (!patched(LIFECYCLE_V2)) return { ...(await legacySnapshotInstance(input)), consistency: 'unknown' };
  const { instanceId, snapshotId } = input;
  return runOperation(input.operationId, {
    async run(op, saga) {
      await control.beginSnapshot(op, instanceId, snapshotId);
      const spec = await control.instanceSpec(op, instanceId);
      if (!spec.hostId) throw ApplicationFailure.nonRetryable(`instance ${instanceId} is on no host`, 'StateConflictError');
      const host = onHost(spec.hostId, input.hostScheduleToStartSeconds);
      saga.add('discard the snapshot data', () => control.discardSnapshot(op, snapshotId));
      saga.add('thaw the instance', async () => host.endSnapshot(await control.instanceSpec(op, instanceId)));
      const made = await host.snapshotInstance(spec, snapshotId);
      await control.markSnapshotReady(op, snapshotId, made.location, made.digest);
      saga.clear();
      return { snapshotId, consistency: made.consistency };
    },
    async settle(op, f) {
      await control.markSnapshotFailed(op, snapshotId, f.reason);
      // The guest may still be frozen or paused: a repair thaws it when its host answers again.
      if (f.stuck?.step === 'thaw the instance') await control.repairInPlace(op, instanceId, `a snapshot could not be undone: ${f.stuck.reason}`);
    },
  });
}
