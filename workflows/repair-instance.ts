import { condition, continueAsNew, defineSignal, setHandler } from '@temporalio/workflow';
import { control, failureType, isInfrastructureFailure, onHost } from './activity-options';
import { runOperation } from './operation';
import { reasonOf } from './saga';

export interface RepairInput { operationId: string; instanceId: string }

/** Sent by an evacuation that fenced the host a repair waits on. */
export const wakeSignal = defineSignal('wake');

/** Seconds before attempt n+1 of a repair whose host does not answer: 2, 4, 8, ... at most 5 minutes. */
export const repairBackoffSeconds = (attempt: number): number => Math.min(300, 2 ** attempt);
/** A long wait on a dead host starts a fresh history now and then. */
const ATTEMPTS_PER_RUN = 100;

const copyIsGone = (err: unknown) => failureType(err) === 'PermanentDriverError';

/**
 * A `repairing` instance brought in line, however long its host takes to answer: a migration's
 * target copy destroyed and its claim given back; then the copy at home destroyed (the repair ends
 * in failed or deleted, and only then are the address and the capacity free) or brought to the state
 * the database says (running, stopped, paused; thawed if a snapshot froze it). Until then it holds
 * everything, and a DELETE meanwhile makes it end in `deleted`.
 */
export async function repairInstance(input: RepairInput, attemptsBefore = 0): Promise<{ state: string; attempts: number }> {
  const { instanceId } = input;
  let woken = false;
  setHandler(wakeSignal, () => { woken = true; });
  return runOperation(input.operationId, {
    async run(op) {
      if ((await control.beginRepair(op, instanceId)).done) return { state: 'nothing to repair', attempts: attemptsBefore };
      for (let attempt = attemptsBefore + 1; ; attempt++) {
        const plan = await control.repairPlan(op, instanceId);
        const ref = { instanceId, kind: plan.kind };
        // A copy is destroyed on its host; on a fenced host (powered off, or off the network by its
        // watchdog) it cannot run, and is left for the host's agent to destroy when it returns.
        const destroy = async (hostId: string) => {
          // A plan recorded before fencing existed has no `fenced` (its histories must replay alike).
          if ((plan.fenced ?? []).includes(hostId)) return control.leaveCopyOnFencedHost(op, instanceId, hostId, plan.kind);
          await control.guard(op);
          await onHost(hostId).destroyInstance(ref);
        };
        try {
          if (plan.targetHostId) {
            await destroy(plan.targetHostId);
            await control.releaseTarget(op, instanceId);
          }
          if (plan.repairTo === 'failed' || plan.repairTo === 'deleted') {
            if (plan.homeHostId) await destroy(plan.homeHostId);
            if (plan.repairTo === 'deleted') await control.deleteSnapshotsOf(op, instanceId);
          } else if (!plan.homeHostId) {
            await control.giveUpRestoring(op, instanceId, 'the instance is on no host');
            continue;
          } else {
            try {
              await onHost(plan.homeHostId).convergeInstance(await control.instanceSpec(op, instanceId), plan.repairTo, plan.conformSize === true);
            } catch (err) {
              if (!copyIsGone(err)) throw err;
              await control.giveUpRestoring(op, instanceId, reasonOf(err));
              continue;
            }
          }
          const end = await control.finishRepair(op, instanceId, plan.repairTo);
          if (end !== null) return { state: end, attempts: attempt };
        } catch (err) {
          if (!isInfrastructureFailure(err)) throw err;
          const wait = repairBackoffSeconds(attempt);
          await control.recordProgress(op, { attempt, lastError: reasonOf(err), nextAttemptInSeconds: wait });
          // Woken early when the host it waits on is fenced (an evacuation of that host signals it).
          await condition(() => woken, wait * 1000);
          woken = false;
          if (attempt - attemptsBefore >= ATTEMPTS_PER_RUN) await continueAsNew<typeof repairInstance>(input, attempt);
        }
      }
    },
  });
}

