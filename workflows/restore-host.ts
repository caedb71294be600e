import { ParentClosePolicy, executeChild, isCancellation } from '@temporalio/workflow';
import { control } from './activity-options';
import { migrateInstance } from './migrate-instance';
import { runOperation } from './operation';
import { reasonOf } from './saga';
import { forEachBounded } from './bounded';
import { progressRecorder } from './progress';
import type { EvacuationProgress } from '../activities/control/migration-activities';

export interface RestoreInput { operationId: string; hostId: string; concurrency: number; requestedBy: string | null }

/**
 * Maintenance that comes back (as Incus's `cluster restore`): the host takes work again, and the
 * instances its last evacuation moved away, still live, are moved back to it with a fresh snapshot,
 * at most `concurrency` at a time. One deleted or already back meanwhile is skipped.
 */
export async function restoreHost(input: RestoreInput): Promise<Required<Omit<EvacuationProgress, 'fencedBy'>>> {
  const { hostId } = input;
  return runOperation(input.operationId, {
    async run(op) {
      const record = progressRecorder(op);
      await control.enableHost(op, hostId);
      const ids = await control.movedAway(op, hostId);
      const progress = { total: ids.length, done: 0, failed: 0, skipped: 0, remaining: ids.length, failures: [] as { instanceId: string; reason: string }[], moved: [] as string[] };
      await record(progress);
      const childInput = { snapshot: 'latest', host: hostId };
      await forEachBounded(ids, input.concurrency, async (instanceId) => {
        const child = await control.beginChildMigration(op, null, instanceId, input.requestedBy, childInput);
        if ('skip' in child) {
          progress.skipped++;
        } else {
          try {
            await executeChild(migrateInstance, {
              workflowId: child.workflowId, args: [{ operationId: child.operationId, instanceId, ...childInput }],
              parentClosePolicy: ParentClosePolicy.ABANDON,
            });
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
      return progress;
    },
  });
}
