// Frozen: the previous release's workflow, kept so its recorded histories replay (see ../index.ts).
import { ApplicationFailure } from '@temporalio/workflow';
import { control, migration, sourceActivities } from './activity-options';
import { reasonOf } from './saga';

export interface SnapshotInput { operationId: string; instanceId: string; snapshotId: string; hostScheduleToStartSeconds?: number }

/** container: commit + push; VM: disk as qcow2 in the image store (filesystems frozen by the guest agent). */
export async function snapshotInstance(input: SnapshotInput): Promise<{ snapshotId: string }> {
  const { operationId, instanceId, snapshotId } = input;
  try {
    await migration.createSnapshotRow(instanceId, snapshotId);
    const spec = await control.getInstanceSpec(instanceId);
    if (!spec.hostId) throw ApplicationFailure.nonRetryable('the instance is on no host', 'StateConflictError');
    const made = await sourceActivities(spec.hostId, input.hostScheduleToStartSeconds ?? 30).snapshotInstance(spec, snapshotId);
    await migration.markSnapshotReady(snapshotId, made.location, made.digest);
    await control.finishOperation(operationId, 'succeeded', undefined, { snapshotId, consistency: made.consistency });
    return { snapshotId };
  } catch (err) {
    const reason = reasonOf(err);
    await migration.markSnapshotFailed(snapshotId, reason);
    await control.finishOperation(operationId, 'failed', reason);
    throw err;
  }
}
