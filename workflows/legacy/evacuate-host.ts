// Frozen: the previous release's workflow, kept so its recorded histories replay (see ../index.ts).
import { ApplicationFailure, ParentClosePolicy, defineQuery, executeChild, setHandler } from '@temporalio/workflow';
import { control, migration } from './activity-options';
import { migrateInstance } from './migrate-instance';
import { reasonOf } from './saga';
import type { EvacuationProgress } from '../../activities/control/migration-activities';

export interface EvacuateInput { operationId: string; hostId: string; concurrency: number; requestedBy: string | null; sourceScheduleToStartSeconds?: number }

export const progressQuery = defineQuery<EvacuationProgress>('progress');

/**
 * The host is already draining (the API set it with the operation). One child migrate per
 * instance on it, at most `concurrency` at a time; one failure does not stop the others. Run
 * again, it finds only what is still there. The host ends disabled.
 */
export async function evacuateHost(input: EvacuateInput): Promise<EvacuationProgress> {
  const alive = await migration.hostAlive(input.hostId);
  const ids = await migration.instancesOnHost(input.hostId);
  const progress: EvacuationProgress = { total: ids.length, done: 0, failed: 0, remaining: ids.length, failures: [] };
  setHandler(progressQuery, () => progress);
  await migration.recordProgress(input.operationId, progress);

  let next = 0;
  const worker = async () => {
    while (next < ids.length) {
      const instanceId = ids[next++];
      try {
        const child = await migration.beginChildMigration(instanceId, input.requestedBy);
        if ('conflict' in child) throw ApplicationFailure.nonRetryable(child.conflict, 'ConflictError');
        await executeChild(migrateInstance, {
          workflowId: child.workflowId,
          args: [{ operationId: child.operationId, instanceId, snapshot: 'latest', sourceAlive: alive, sourceScheduleToStartSeconds: input.sourceScheduleToStartSeconds }],
          parentClosePolicy: ParentClosePolicy.ABANDON,
        });
        progress.done++;
      } catch (err) {
        progress.failed++;
        progress.failures.push({ instanceId, reason: reasonOf(err) });
      }
      progress.remaining--;
      await migration.recordProgress(input.operationId, progress);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(input.concurrency, ids.length)) }, worker));

  await migration.setHostState(input.hostId, 'disabled');
  await control.finishOperation(input.operationId, 'succeeded', undefined, progress);
  return progress;
}
