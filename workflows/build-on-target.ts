import { control, type onHost } from './activity-options';
import type { OpRef } from '../db/operations';
import type { HostedSpec, Restore } from '../activities/control/instance-activities';

type Spec = (on: 'home' | 'target', restore: Restore | null) => Promise<HostedSpec>;

/**
 * A move's copy on its target (a migration's, a resize's that moves): whatever an earlier visit left there
 * goes first (a stale copy of this very instance), then the image, the copy from `restore`, and, if the
 * instance ran, its start and its network. The caller registered the undo (destroy the target copy) before.
 */
export async function buildOnTarget(op: OpRef, instanceId: string, target: ReturnType<typeof onHost>, targetHostId: string, spec: Spec, restore: Restore | null, running: boolean): Promise<void> {
  await target.destroyInstance(await spec('target', null));
  await control.clearStaleCopy(op, instanceId, targetHostId);
  await target.ensureImage(await spec('target', restore));
  await target.createInstance(await spec('target', restore));
  if (running) {
    await target.startInstance(await spec('target', restore));
    await target.plumbNetwork(await spec('target', restore));
  }
}
