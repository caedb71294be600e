import { patched } from '@temporalio/workflow';
import { control, onHost } from './activity-options';
import type { OpRef } from '../db/operations';
import type { HostedSpec, Restore } from '../activities/control/instance-activities';

type Spec = (on: 'home' | 'target', restore: Restore | null) => Promise<HostedSpec>;

/** Moves started before this marker built their target copy in four to six host steps, each with a fresh spec. */
export const MOVE_ONE_TARGET_STEP = 'move-one-target-step';

/**
 * A move's copy on its target (a migration's, a resize's that moves): whatever an earlier visit left there
 * goes first (a stale copy of this very instance), then the image, the copy from `restore`, and, if the
 * instance ran, its start and its network. The caller registered the undo (destroy the target copy) before.
 *
 * One host activity (`buildCopy`), its phases named in its heartbeat details, as a create's build: each
 * step here cost a workflow task, a dispatch to the host and a local activity for its spec. A stale copy
 * recorded on the target is cleared by the move's commit (db/placement.ts commitTargetHost); until then the
 * reconciler leaves the target alone, since the instance claims it.
 */
export async function buildOnTarget(op: OpRef, instanceId: string, targetHostId: string, spec: Spec, restore: Restore | null, running: boolean, scheduleToStartSeconds?: number): Promise<void> {
  if (patched(MOVE_ONE_TARGET_STEP)) {
    // A cancel waits for the build to be over, so the undo's destroy comes after it (as a create's).
    await onHost(targetHostId, scheduleToStartSeconds, 'wait').buildCopy(await spec('target', restore), running);
    return;
  }
  const target = onHost(targetHostId, scheduleToStartSeconds);
  await target.destroyInstance(await spec('target', null));
  await control.clearStaleCopy(op, instanceId, targetHostId);
  await target.ensureImage(await spec('target', restore));
  await target.createInstance(await spec('target', restore));
  if (running) {
    await target.startInstance(await spec('target', restore));
    await target.plumbNetwork(await spec('target', restore));
  }
}
