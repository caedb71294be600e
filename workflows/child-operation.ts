import { WorkflowExecutionAlreadyStartedError } from '@temporalio/common';
import { ApplicationFailure, patched, sleep } from '@temporalio/workflow';
import { control } from './activity-options';

export const CHILD_ALREADY_STARTED = 'child-already-started';

/**
 * Runs a child operation's workflow (a member's create, a move of an evacuation) to its end.
 * A Temporal node that dies while it starts the child can leave the child started and tell the
 * parent, on the retried start, that it already was: the child then runs without the parent
 * hearing of its end. Its operation row says how it ends, so the parent follows that instead of
 * counting a move that succeeds as failed.
 */
export async function runChildOperation<T>(childOperationId: string, start: () => Promise<T>): Promise<T | undefined> {
  try {
    return await start();
  } catch (err) {
    if (!(err instanceof WorkflowExecutionAlreadyStartedError) || !patched(CHILD_ALREADY_STARTED)) throw err;
    for (;;) {
      const outcome = await control.operationOutcome(childOperationId);
      if (outcome.state === 'succeeded') return (outcome.result ?? undefined) as T | undefined;
      if (outcome.state !== 'running') {
        throw ApplicationFailure.nonRetryable(outcome.error ?? `operation ${childOperationId} is ${outcome.state}`, 'ChildOperationFailed');
      }
      await sleep('2 seconds');
    }
  }
}
