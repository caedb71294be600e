import { ApplicationFailure } from '@temporalio/workflow';
import { control, onHost } from './activity-options';
import { runOperation } from './operation';
import { resizeByMove } from './resize-move';
import { PLAN_DETAIL, type ResizePlan, type Size, type SizeClaim } from '../lib/resize-plan';

export interface ResizeInput {
  operationId: string; instanceId: string; plan: ResizePlan; prior: 'running' | 'stopped'; hostScheduleToStartSeconds?: number;
}

const sizeOnly = ({ vcpus, memoryMb, diskGb }: Size): Size => ({ vcpus, memoryMb, diskGb });

/**
 * The API claimed the larger of both sizes on the instance's host (db/resize.ts); here the host gives the
 * instance its new size as the plan said (live, cold or offline), then the claim shrinks to it. Failed or
 * cancelled, the host puts the old size back (a grown disk stays, and stays claimed) and the claim shrinks to
 * that; if the host cannot be reached for it, a repair conforms the copy to the old size before its state.
 */
export async function resizeInstance(input: ResizeInput): Promise<{ plan: ResizePlan; size: Size | null; hostId?: string }> {
  const { instanceId, plan, prior } = input;
  return runOperation(input.operationId, {
    async run(op, saga) {
      // Before anything reached the host, giving the claim back is the whole undo.
      saga.add('give the claim back', () => control.undoResize(op, instanceId, prior, null));
      const begun = await control.beginResize(op, instanceId);
      if (begun.done) return { plan, size: null };
      const { spec, from, to } = begun;
      if (!spec.hostId) throw ApplicationFailure.nonRetryable(`instance ${instanceId} is on no host`, 'StateConflictError');
      // Its host has no room: the instance moves to one that has, at the new size (a plan only a new request gets).
      if (plan === 'migrate') {
        const moved = await resizeByMove(op, saga, input, begun);
        return { plan, size: sizeOnly(to), hostId: moved.hostId };
      }
      const host = onHost(spec.hostId, input.hostScheduleToStartSeconds);
      const sized = (s: SizeClaim) => ({ ...spec, ...sizeOnly(s), cpuset: s.cpuset, ...('maxVcpus' in s ? { maxVcpus: s.maxVcpus, maxMemoryMb: s.maxMemoryMb } : {}) });
      await control.recordProgress(op, { plan, detail: PLAN_DETAIL[plan], from: sizeOnly(from), to: sizeOnly(to), step: 'resizing' });
      saga.add('put the old size back', async () => {
        const { diskGb } = await host.resizeInstance(sized(from), prior);
        await control.undoResize(op, instanceId, prior, diskGb);
      });
      await host.resizeInstance(sized(to), prior);
      await control.commitResize(op, instanceId, prior);
      // Committed: the new size stands whatever fails after (an undo now would put the old size under a row that says the new one).
      saga.clear();
      await control.recordProgress(op, { plan, detail: PLAN_DETAIL[plan], from: sizeOnly(from), to: sizeOnly(to), step: 'done' });
      return { plan, size: sizeOnly(to) };
    },
    async settle(op, { stuck, reason }) {
      if (stuck) await control.abandonResize(op, instanceId, prior, reason);
    },
  });
}
