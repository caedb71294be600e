import { ApplicationFailure, CancellationScope, CancelledFailure, ContinueAsNew, TemporalFailure, isCancellation, workflowInfo } from '@temporalio/workflow';
import { control, failureType } from './activity-options';
import { Saga, reasonOf } from './saga';
import type { OpRef } from '../db/operations';

/**
 * Workflows started before the one operation lifecycle took the previous release's code (kept in
 * ./legacy), so their recorded histories replay; every new run takes this marker and the code here.
 */
export const LIFECYCLE_V2 = 'lifecycle-v2';
/** Dead hosts fenced before a rebuild, busy sources waited for (host failure without split brain). */
export const FENCING = 'fencing';

export interface Failure {
  reason: string;
  cancelled: boolean;
  /** The undo that failed: it, and the undos registered before it, did not run. */
  stuck: { step: string; reason: string } | null;
}

export interface OperationSteps<T> {
  /**
   * The steps. Each registers its undo on `saga` before it runs, so a step that failed half way is
   * undone too. `reopened`: this run took over a finished operation (a reset of it: a retry).
   */
  run(op: OpRef, saga: Saga, claimed: { reopened: boolean }): Promise<T>;
  /**
   * After the undos: what the operation owns, put in a consistent state (a stuck undo hands the
   * instance to a repair, which holds its address and capacity until the host copy is gone).
   */
  settle?(op: OpRef, failure: Failure): Promise<void>;
  /** What the operation row records as its result (the workflow's own result by default). */
  recorded?(result: T): unknown;
  /**
   * Instead of closing the row as succeeded on its own: a last step that closes it in the same
   * transaction as the operation's own commit (the undos stay registered until it is done, and it
   * commits everything or nothing). It runs to its end even when a cancel comes meanwhile: once it
   * committed, the operation is done, and undoing it would leave a succeeded row over nothing.
   */
  succeed?(op: OpRef, result: T): Promise<void>;
}

/** A reset run can resume mid-way with results read by another run: it starts over, at most this often. */
const MAX_RESTARTS = 3;

const superseded = (err: unknown) => failureType(err) === 'RunSupersededError';

/** Temporal failures fail the workflow; anything else thrown here would fail its task and loop for ever. */
function asWorkflowFailure(err: unknown): TemporalFailure {
  if (err instanceof TemporalFailure) return err;
  return ApplicationFailure.create({ message: reasonOf(err), type: 'WorkflowError', nonRetryable: true });
}

/**
 * The one lifecycle of an operation: whatever happens, its row ends succeeded, failed or cancelled.
 * - The run takes the row first. Every step carries the operation and this run's id; a step that
 *   finds the row owned by another run (a reset started this one mid-way) fails with
 *   RunSupersededError, and the run takes the row again and starts the steps over from the first,
 *   which re-reads everything the earlier run left.
 * - On failure or cancellation the undos run in a non-cancellable scope, then `settle`, then the
 *   row is closed; the workflow ends failed (or cancelled) with the reason.
 * - A terminated workflow runs none of this: the reconciler notices its row still open and repairs.
 */
export async function runOperation<T>(operationId: string, steps: OperationSteps<T>): Promise<T> {
  const op: OpRef = { operationId, runId: workflowInfo().runId };
  for (let restart = 0; ; restart++) {
    // Taking the row comes first and on its own: a run that cannot take it (a reset while another
    // operation runs on the instance) owns nothing to close or undo.
    let claimed: { reopened: boolean; finished?: { result: unknown } };
    try {
      // Even when cancelled before its first step, the run takes the row, so it can close it as cancelled.
      claimed = await CancellationScope.nonCancellable(() => control.beginOperation(op));
    } catch (err) {
      throw asWorkflowFailure(err);
    }
    // This run succeeded already, in a workflow task whose answer was lost (then its undos found the
    // row closed, and it started over): the row's result is the workflow's (what `recorded` made of it,
    // if the operation has one).
    if (claimed.finished) return claimed.finished.result as T;
    const saga = new Saga();
    let failure: unknown;
    try {
      const result = await steps.run(op, saga, claimed);
      if (steps.succeed) {
        // A cancel that came before the commit undoes the operation, as it would at any earlier step
        // (a host step that finished anyway, say); one that comes during the commit is too late.
        if (CancellationScope.current().consideredCancelled) throw new CancelledFailure('cancelled');
        await CancellationScope.nonCancellable(() => steps.succeed!(op, result));
      } else {
        await control.finishOperation(op, { state: 'succeeded', result: steps.recorded ? steps.recorded(result) : result });
      }
      return result;
    } catch (err) {
      if (err instanceof ContinueAsNew) throw err;
      failure = err;
    }
    if (superseded(failure) && restart < MAX_RESTARTS) continue;
    const cancelled = isCancellation(failure);
    const reason = cancelled ? 'cancelled' : reasonOf(failure);
    try {
      await CancellationScope.nonCancellable(async () => {
        const stuck = await saga.compensate();
        await steps.settle?.(op, { reason, cancelled, stuck });
        const error = stuck ? `${reason}; undoing "${stuck.step}" failed (${stuck.reason}): a repair holds what it guards until it is done` : reason;
        // The failure's type tells a user the kind of failure in the platform's words (api/public-errors.ts).
        await control.finishOperation(op, { state: cancelled ? 'cancelled' : 'failed', error, errorType: cancelled ? undefined : failureType(failure) ?? 'InfrastructureFailure' });
      });
    } catch (err) {
      if (superseded(err) && restart < MAX_RESTARTS) continue;
      throw asWorkflowFailure(err);
    }
    throw cancelled ? failure : asWorkflowFailure(failure);
  }
}
