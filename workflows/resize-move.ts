import { isCancellation, uuid4 } from '@temporalio/workflow';
import { control, onHost } from './activity-options';
import type { Saga } from './saga';
import { buildOnTarget } from './build-on-target';
import type { OpRef } from '../db/operations';
import type { Restore } from '../activities/control/instance-activities';
import type { ResizeBegun } from '../activities/control/resize-activities';
import { PLAN_DETAIL, type Size } from '../lib/resize-plan';

type Begun = Extract<ResizeBegun, { done: false }>;
export interface MoveInput { instanceId: string; prior: 'running' | 'stopped'; hostScheduleToStartSeconds?: number }

const sizeOnly = ({ vcpus, memoryMb, diskGb }: Size): Size => ({ vcpus, memoryMb, diskGb });

/**
 * A resize whose host has no room, and whose owner allowed a move (plan `migrate`): a host that fits the new
 * size is claimed, the instance is stopped (so no write is lost and the address is never on the wire twice),
 * snapshotted, and built at the new size on the target from the snapshot (a VM's disk restored into the bigger
 * one, its ext4 grown), then started if it ran. The commit is one transaction (db/resize.ts commitResizeMove);
 * before it, every step is undone in reverse (undo registered before each step). After it, the source's copy is
 * destroyed, or left recorded for whoever reaches the source first.
 */
export async function resizeByMove(op: OpRef, saga: Saga, input: MoveInput, begun: Begun): Promise<{ hostId: string; snapshotId: string }> {
  const { instanceId, prior } = input;
  const { from, to } = begun;
  const sourceHostId = begun.spec.hostId!;
  const source = onHost(sourceHostId, input.hostScheduleToStartSeconds);
  const spec = (on: 'home' | 'target' = 'home', restore: Restore | null = null) => control.instanceSpec(op, instanceId, on, restore);
  const progress = (step: string, extra: Record<string, unknown> = {}) =>
    control.recordProgress(op, { plan: 'migrate', detail: PLAN_DETAIL.migrate, from: sizeOnly(from), to: sizeOnly(to), step, ...extra });

  saga.add('release the target claim', () => control.releaseTarget(op, instanceId));
  const claim = await control.claimTarget(op, instanceId, null);
  await progress('stopping', { target: claim.hostId });

  if (prior === 'running') {
    saga.add('bring the source back', async () => source.convergeInstance(await spec(), 'running'));
    await source.stopInstance(await spec());
  }

  const snapshotId = uuid4();
  await progress('snapshotting', { target: claim.hostId, snapshotId });
  // A snapshot that did not become ready is marked failed and what it left discarded (a ready one stays: it is the user's).
  saga.add('fail the snapshot', async () => {
    await control.markSnapshotFailed(op, snapshotId, 'the resize that made it was undone');
    await control.discardSnapshot(op, snapshotId);
  });
  await control.createSnapshotRow(op, instanceId, snapshotId);
  const made = await source.snapshotInstance(await spec(), snapshotId);
  await control.markSnapshotReady(op, snapshotId, made.location, made.digest);
  const restore: Restore = { snapshotId, location: made.location, digest: made.digest };

  await progress('building on the target', { target: claim.hostId, snapshotId });
  const target = onHost(claim.hostId, input.hostScheduleToStartSeconds);
  saga.add('destroy the target copy', async () => target.destroyInstance(await spec('target')));
  await buildOnTarget(op, instanceId, claim.hostId, spec, restore, prior === 'running', input.hostScheduleToStartSeconds);

  await control.commitResizeMove(op, instanceId, prior);
  // The instance lives on the target at its new size: undoing anything now would take it down.
  saga.clear();
  try {
    await control.guard(op);
    await source.destroyInstance({ instanceId, kind: begun.spec.kind });
    await control.clearStaleCopy(op, instanceId, sourceHostId);
  } catch (err) {
    // The copy stays recorded: the reconciler, or the source's agent when it starts, destroys it.
    if (isCancellation(err)) throw err;
  }
  await progress('done', { target: claim.hostId, snapshotId });
  return { hostId: claim.hostId, snapshotId };
}
