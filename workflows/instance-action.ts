import { ApplicationFailure, patched } from '@temporalio/workflow';
import { control, onHost } from './activity-options';
import { LIFECYCLE_V2, runOperation } from './operation';
import { ACTIONS, type Action, type InstanceState } from '../lib/instance-states';
import { instanceAction as legacyInstanceAction } from './legacy/instance-action';

export type { Action } from '../lib/instance-states';
export interface ActionInput { operationId: string; instanceId: string; action: Action; from: InstanceState }

/**
 * (host) the action -> its state. A failed action leaves the database state as it was; if the host
 * did half of it, the reconciler brings the copy back to that state.
 */
export async function instanceAction(input: ActionInput): Promise<{ state: InstanceState }> {
  if (!patched(LIFECYCLE_V2)) {
    await legacyInstanceAction(input);
    return { state: ACTIONS[input.action].to };
  }
  const { instanceId, action } = input;
  const { from, to } = ACTIONS[action];
  return runOperation(input.operationId, {
    async run(op) {
      const begun = await control.beginAction(op, instanceId, action);
      if (begun.done) return { state: to };
      const spec = await control.instanceSpec(op, instanceId);
      if (!spec.hostId) throw ApplicationFailure.nonRetryable(`instance ${instanceId} is on no host`, 'StateConflictError');
      await onHost(spec.hostId).actOnInstance(spec, action);
      await control.settleInstance(op, instanceId, to, { from });
      return { state: to };
    },
  });
}
