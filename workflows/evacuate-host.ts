import { ParentClosePolicy, defineQuery, executeChild, getExternalWorkflowHandle, isCancellation, patched, setHandler } from '@temporalio/workflow';
import { control } from './activity-options';
import { migrateInstance } from './migrate-instance';
import { FENCING, LIFECYCLE_V2, runOperation } from './operation';
import { judgeHost } from './liveness';
import { wakeSignal } from './repair-instance';
import { reasonOf } from './saga';
import { forEachBounded } from './bounded';
import { runChildOperation } from './child-operation';
import { progressRecorder } from './progress';
import type { EvacuationProgress } from '../activities/control/migration-activities';
import { evacuateHost as legacyEvacuateHost } from './legacy/evacuate-host';

export interface EvacuateInput {
  operationId: string; hostId: string; concurrency: number; requestedBy: string | null; sourceScheduleToStartSeconds?: number;
  busySourceWaitSeconds?: number;
}


export const progressQuery = defineQuery<EvacuationProgress>('progress');

/**
 * The host is draining (the API set it with the operation). One child migrate per instance on it,
 * at most `concurrency` at a time, each re-reading its instance first (one deleted meanwhile is
 * skipped); one failure does not stop the others. The host ends disabled. Cancelled, the moves
 * under way are cancelled (each undoes itself) and the host returns to its prior state.
 */
export async function evacuateHost(input: EvacuateInput): Promise<EvacuationProgress> {
  if (!patched(LIFECYCLE_V2)) return legacyEvacuateHost(input);
  const { hostId } = input;
  let prior: 'enabled' | 'disabled' | 'down' = 'enabled';
  return runOperation(input.operationId, {
    async run(op, _saga, { reopened }) {
      const record = progressRecorder(op);
      prior = (await control.beginEvacuate(op, hostId, reopened)).priorState;
      let alive: boolean;
      let fencedBy: string | null = null;
      if (patched(FENCING)) {
        // A dead host is fenced before anything of it is rebuilt elsewhere; a live one is emptied by moves.
        alive = (await judgeHost(hostId)).verdict !== 'dead';
        if (!alive) {
          fencedBy = (await control.fenceHost(op, hostId)).by;
          for (const repair of await control.repairsWaitingOn(op, hostId)) await getExternalWorkflowHandle(repair).signal(wakeSignal).catch(() => undefined);
        }
      } else {
        alive = await control.hostAlive(hostId);
      }
      const ids = await control.instancesOnHost(op, hostId);
      const progress: Required<EvacuationProgress> = { total: ids.length, done: 0, failed: 0, skipped: 0, remaining: ids.length, failures: [], moved: [], fencedBy };
      setHandler(progressQuery, () => progress);
      await record(progress);

      const childInput = { snapshot: 'latest', sourceAlive: alive, sourceScheduleToStartSeconds: input.sourceScheduleToStartSeconds, busySourceWaitSeconds: input.busySourceWaitSeconds };
      await forEachBounded(ids, input.concurrency, async (instanceId) => {
        const child = await control.beginChildMigration(op, hostId, instanceId, input.requestedBy, childInput);
        if ('skip' in child) {
          progress.skipped++;
        } else {
          try {
            await runChildOperation(child.operationId, () => executeChild(migrateInstance, {
              workflowId: child.workflowId, args: [{ operationId: child.operationId, instanceId, ...childInput }],
              parentClosePolicy: ParentClosePolicy.ABANDON,
            }));
            progress.done++;
            progress.moved.push(instanceId);
          } catch (err) {
            if (isCancellation(err)) throw err;
            progress.failed++;
            progress.failures.push({ instanceId, reason: reasonOf(err) });
          }
        }
        progress.remaining--;
        await record(progress);
      });
      await control.endEvacuation(op, hostId, 'disabled');
      return progress;
    },
    async settle(op) {
      await control.endEvacuation(op, hostId, prior);
    },
  });
}
