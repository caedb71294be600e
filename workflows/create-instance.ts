import { patched, upsertSearchAttributes } from '@temporalio/workflow';
import { control, onHost } from './activity-options';
import { LIFECYCLE_V2, runOperation } from './operation';
import { VcHostId } from './search-attributes';
import type { OpRef } from '../db/operations';
import { createInstance as legacyCreateInstance } from './legacy/create-instance';
import { createInstanceBySteps } from './legacy/create-instance-by-steps';

export interface InstanceOperationInput { instanceId: string; operationId: string; hostScheduleToStartSeconds?: number }

/** Creates started before this marker took a local activity per control step and an activity per host step. */
export const CREATE_ONE_HOST_STEP = 'create-one-host-step';
/** Creates started before this marker settled the instance and closed the operation in two local activities. */
export const CREATE_COMPLETE_IN_ONE = 'create-complete-in-one';

/**
 * provision (begin, place, allocate the address, the spec) -> (host) build: image, create, start,
 * network -> running, with the operation closed in the same transaction. Undone in reverse on failure
 * or cancel; a copy that cannot be destroyed keeps the address and the capacity held (the instance is
 * `repairing`) until a repair destroys it.
 *
 * Two steps where there were eight (bench/profile-create): each step costs the control worker a local
 * activity or a workflow task, and the host phases are named in the build's heartbeat details instead.
 */
export async function createInstance(input: InstanceOperationInput): Promise<{ hostId: string; ip: string }> {
  if (!patched(LIFECYCLE_V2)) return legacyCreateInstance(input);
  if (!patched(CREATE_ONE_HOST_STEP)) return createInstanceBySteps(input);
  const { instanceId } = input;
  const completeInOne = patched(CREATE_COMPLETE_IN_ONE);
  return runOperation(input.operationId, {
    async run(op, saga, { reopened }) {
      // Both undos come before the first step. The copy's is there too because a run reset into this
      // operation's cancellation may find a build an earlier run dispatched (its own attempt at the
      // undo then fails as superseded and it starts over from here): whatever host the instance was
      // placed on is cleared. Each undo gives back only what a create owns.
      saga.add('release the address and the host capacity', () => control.releaseCreateHoldings(op, instanceId));
      saga.add('destroy on the host', async () => {
        const spec = await control.instanceSpec(op, instanceId);
        if (spec.hostId) await onHost(spec.hostId, input.hostScheduleToStartSeconds).destroyInstance(spec);
      });
      const provisioned = await control.provisionCreate(op, instanceId, reopened);
      if (provisioned.done) {
        saga.clear();
        return { hostId: provisioned.hostId, ip: provisioned.ip };
      }
      upsertSearchAttributes([{ key: VcHostId, value: provisioned.hostId }]);

      // The host builds from the spec read with the address. A reset cannot hand it an earlier run's:
      // the step's marker is recorded with the build's scheduling, in one workflow task, and a reset
      // to a workflow task runs that task's steps again. A cancel waits for the build to be over, so
      // the destroy comes after it.
      await onHost(provisioned.hostId, input.hostScheduleToStartSeconds, 'wait').buildInstance(provisioned.spec);
      // The undos stay registered: completeCreate makes the instance running and closes the operation
      // in one transaction, or does neither.
      if (completeInOne) return { hostId: provisioned.hostId, ip: provisioned.ip };

      await control.settleInstance(op, instanceId, 'running', { from: ['provisioning'] });
      // Running: nothing may be undone any more.
      saga.clear();
      return { hostId: provisioned.hostId, ip: provisioned.ip };
    },
    ...(completeInOne ? { succeed: (op: OpRef, result: { hostId: string; ip: string }) => control.completeCreate(op, instanceId, result) } : {}),
    async settle(op, f) {
      await control.settleInstance(op, instanceId, f.stuck ? 'repairing' : 'failed', {
        from: ['pending', 'provisioning'], failure: f.reason, repairTo: 'failed', onlyIfOwned: true,
      });
    },
  });
}
