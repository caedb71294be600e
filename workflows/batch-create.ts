import { ApplicationFailure, CancellationScope, ParentClosePolicy, executeChild, isCancellation } from '@temporalio/workflow';
import { control } from './activity-options';
import { createInstance } from './create-instance';
import { deleteInstance } from './delete-instance';
import { runOperation } from './operation';
import { reasonOf } from './saga';
import { forEachBounded } from './bounded';
import { runChildOperation } from './child-operation';
import { progressRecorder } from './progress';
import type { Member } from '../activities/control/batch-activities';

export interface BatchCreateInput {
  operationId: string; members: string[]; atomic: boolean; concurrency: number; requestedBy: string | null; hostScheduleToStartSeconds?: number;
}
export interface BatchProgress { total: number; succeeded: string[]; failed: { instanceId: string; reason: string }[]; remaining: number }

/**
 * `POST /v1/instances` with `count`: the members' creates, each its own operation and child
 * workflow (`instance-<id>-create`), at most `concurrency` at a time, progress after each. A failed
 * member leaves the others; with `atomic`, a failure stops the batch and the members it made are
 * deleted (each by its own delete operation), so it is all or nothing.
 */
export async function batchCreate(input: BatchCreateInput): Promise<BatchProgress> {
  const { members, requestedBy, hostScheduleToStartSeconds } = input;
  return runOperation(input.operationId, {
    async run(op, saga) {
      const record = progressRecorder(op);
      const progress: BatchProgress = { total: members.length, succeeded: [], failed: [], remaining: members.length };
      saga.add('fail the members not started', () => control.failUnstartedMembers(op, members, 'its batch ended before it was started'));
      if (input.atomic) {
        saga.add('delete the members made', () => forEachBounded([...progress.succeeded], input.concurrency, async (instanceId) => {
          const child: Member = await control.beginMemberDelete(op, instanceId, requestedBy, hostScheduleToStartSeconds);
          if ('skip' in child) return;
          await runChildOperation(child.operationId, () => executeChild(deleteInstance, { workflowId: child.workflowId, args: [{ instanceId, operationId: child.operationId, hostScheduleToStartSeconds }] }));
        }));
      }
      await record(progress);
      let stop = false;
      await forEachBounded(members, input.concurrency, async (instanceId) => {
        if (stop) return;
        const child: Member = await control.beginMemberCreate(op, instanceId, requestedBy, hostScheduleToStartSeconds);
        if ('skip' in child) {
          progress.failed.push({ instanceId, reason: child.skip });
        } else {
          try {
            // Terminating the batch terminates its running members; the reconciler closes them.
            await runChildOperation(child.operationId, () => executeChild(createInstance, {
              workflowId: child.workflowId, args: [{ instanceId, operationId: child.operationId, hostScheduleToStartSeconds }],
              parentClosePolicy: ParentClosePolicy.TERMINATE,
            }));
            progress.succeeded.push(instanceId);
          } catch (err) {
            if (isCancellation(err)) throw err;
            progress.failed.push({ instanceId, reason: reasonOf(err) });
            if (input.atomic) stop = true;
          }
        }
        progress.remaining--;
        await CancellationScope.nonCancellable(() => record(progress));
      });
      if (progress.failed.length > 0) {
        throw ApplicationFailure.nonRetryable(
          `${progress.failed.length} of ${members.length} members failed${input.atomic ? '; the batch was all or nothing, so the others are deleted' : ''}: ${progress.failed[0].reason}`,
          'BatchMemberFailed',
        );
      }
      saga.clear();
      return progress;
    },
  });
}
