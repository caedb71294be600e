// Frozen: the previous release's workflow, kept so its recorded histories replay (see ../index.ts).
import { ApplicationFailure } from '@temporalio/workflow';
import { control, hostActivities } from './activity-options';
import { reasonOf } from './saga';
import type { InstanceState } from '../../lib/instance-states';

export type Action = 'start' | 'stop' | 'pause' | 'resume' | 'reboot';
export interface ActionInput { operationId: string; instanceId: string; action: Action; from: InstanceState }

export const ACTION_RESULT: Record<Action, InstanceState> = { start: 'running', stop: 'stopped', pause: 'paused', resume: 'running', reboot: 'running' };

/** (host) the action -> state. A failed action leaves the state as it was and says why. */
export async function instanceAction(input: ActionInput): Promise<void> {
  const { instanceId, operationId, action } = input;
  try {
    const spec = await control.getInstanceSpec(instanceId);
    if (!spec.hostId) throw ApplicationFailure.nonRetryable('the instance is on no host', 'StateConflictError');
    await hostActivities(spec.hostId).actOnInstance(spec, action);
    await control.markInstance(instanceId, ACTION_RESULT[action]);
    await control.finishOperation(operationId, 'succeeded', undefined, { state: ACTION_RESULT[action] });
  } catch (err) {
    const reason = reasonOf(err);
    await control.markInstance(instanceId, input.from);
    await control.finishOperation(operationId, 'failed', reason);
    throw err;
  }
}
