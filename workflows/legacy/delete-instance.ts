// Frozen: the previous release's workflow, kept so its recorded histories replay (see ../index.ts).
import { patched } from '@temporalio/workflow';
import { control, hostActivities, migration } from './activity-options';
import { reasonOf } from './saga';
import type { InstanceOperationInput } from './create-instance';

/** (host) destroy and unplumb -> release IP and capacity -> deleted. */
export async function deleteInstance(input: InstanceOperationInput): Promise<void> {
  const { instanceId, operationId } = input;
  try {
    const spec = await control.getInstanceSpec(instanceId);
    if (spec.hostId) await hostActivities(spec.hostId, input.hostScheduleToStartSeconds).destroyInstance(spec);
    // Added after deletes were already recorded: old histories replay without this step.
    if (patched('delete-snapshots-on-delete')) await migration.deleteSnapshotsOf(instanceId);
    await control.releaseIp(instanceId);
    await control.releaseHostCapacity(instanceId);
    await control.markInstance(instanceId, 'deleted');
    await control.finishOperation(operationId, 'succeeded');
  } catch (err) {
    // Nothing to undo: every step is safe to repeat, so a later delete picks up where this stopped.
    const reason = reasonOf(err);
    await control.markInstance(instanceId, 'failed', `delete failed: ${reason}`);
    await control.finishOperation(operationId, 'failed', reason);
    throw err;
  }
}
