import type { Knex } from 'knex';
import { clearStaleCopy } from '../db/snapshots';
import { recordEvent, staleCopiesToDestroy } from '../db/reconcile';
import type { InstanceDriver, InstanceKind } from '../drivers/instance-driver';
import type { Logger } from '../lib/logger';

/**
 * Copies this host still has of instances that moved away while it was dead: destroyed before the
 * agent takes any work, so nothing of theirs runs beside the moved instance. One that cannot be
 * destroyed now stays recorded; the reconciler tries again.
 */
export async function sweepStaleCopies(db: Knex, hostId: string, drivers: Partial<Record<InstanceKind, InstanceDriver>>, log: Pick<Logger, 'info' | 'error'>): Promise<void> {
  for (const stale of await staleCopiesToDestroy(db, hostId)) {
    const driver = drivers[stale.kind];
    if (!driver) continue;
    try {
      await driver.destroy(stale.instance_id);
      await clearStaleCopy(db, stale.instance_id, hostId);
      await recordEvent(db, { instanceId: stale.instance_id, hostId, kind: 'leftover-destroyed', detail: `destroyed a stale ${stale.kind} copy when the agent started` });
      log.info({ instanceId: stale.instance_id }, 'destroyed a stale copy');
    } catch (err) {
      log.error({ instanceId: stale.instance_id, err: String(err) }, 'could not destroy a stale copy; the reconciler will try again');
    }
  }
}

