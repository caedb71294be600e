import { patched } from '@temporalio/workflow';
import { control, onHost } from './activity-options';
import { LIFECYCLE_V2, runOperation } from './operation';
import type { InstanceOperationInput } from './create-instance';
import { deleteInstance as legacyDeleteInstance } from './legacy/delete-instance';

/**
 * (host) destroy -> snapshots -> address and capacity back, deleted. A delete that cannot finish
 * (its host is unreachable, or it was cancelled) hands the instance to a repair that finishes it:
 * the address is never free while a copy may still use it.
 */
export async function deleteInstance(input: InstanceOperationInput): Promise<void> {
  if (!patched(LIFECYCLE_V2)) return legacyDeleteInstance(input);
  const { instanceId } = input;
  return runOperation(input.operationId, {
    async run(op, _saga, { reopened }) {
      const begun = await control.beginDelete(op, instanceId, reopened);
      if (begun.done) return;
      const spec = await control.instanceSpec(op, instanceId);
      // A failed instance's undo already destroyed its copy; the reconciler removes any leftover.
      if (spec.hostId && begun.priorState !== 'failed') await onHost(spec.hostId, input.hostScheduleToStartSeconds).destroyInstance(spec);
      await control.deleteSnapshotsOf(op, instanceId);
      await control.finishDelete(op, instanceId);
    },
    async settle(op, f) {
      await control.settleInstance(op, instanceId, 'repairing', { from: ['deleting'], failure: f.reason, repairTo: 'deleted', onlyIfOwned: true });
    },
  });
}
