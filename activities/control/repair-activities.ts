import type { Knex } from 'knex';
import { lockInstance, transitionInstance } from '../../db/instances';
import type { OpRef } from '../../db/operations';
import { recordEvent } from '../../db/reconcile';
import { recordStaleCopy } from '../../db/snapshots';
import { StateConflictError } from '../../lib/errors';
import type { InstanceKind } from '../../drivers/instance-driver';
import type { InstanceState, RepairTarget } from '../../lib/instance-states';
import { inRun, releaseHoldings } from './instance-activities';
import { clearResizeMarker } from '../../db/resize';

export interface RepairPlan {
  kind: InstanceKind; homeHostId: string | null; targetHostId: string | null; repairTo: RepairTarget;
  /** Hosts fenced since they were last heard from: a copy there cannot run; it is destroyed when the host returns. Absent from plans recorded before fencing. */
  fenced?: string[];
  /** An abandoned resize left the copy at either size: it takes the database's first. */
  conformSize?: boolean;
}

// Control side of repairs: a `repairing` instance's copies brought in line, then its state settled.
export function createRepairActivities({ db }: { db: Knex }) {
  const planOf = (i: { kind: InstanceKind; host_id: string | null; target_host_id: string | null; repair_to: RepairTarget | null; resize_from?: unknown }, fenced: string[]): RepairPlan =>
    ({ kind: i.kind, homeHostId: i.host_id, targetHostId: i.target_host_id, repairTo: i.repair_to ?? 'failed', fenced, ...(i.resize_from ? { conformSize: true } : {}) });

  return {
    /** A repair of an instance no longer repairing (a reset run after it ended) has nothing to do. */
    async beginRepair(op: OpRef, instanceId: string): Promise<{ done: boolean }> {
      return inRun(db, op, async (trx) => {
        const instance = await lockInstance(trx, instanceId);
        return { done: instance?.state !== 'repairing' };
      });
    },

    /** Read again on every attempt: a DELETE meanwhile turns the repair's end into `deleted`. */
    async repairPlan(op: OpRef, instanceId: string): Promise<RepairPlan> {
      return inRun(db, op, async (trx) => {
        const instance = await lockInstance(trx, instanceId);
        if (instance?.state !== 'repairing') throw new StateConflictError(`instance ${instanceId} is ${instance?.state}, not repairing`);
        const hosts = [instance.host_id, instance.target_host_id].filter((h): h is string => h !== null);
        const fenced: string[] = await trx('hosts').whereIn('id', hosts).whereNotNull('fenced_at')
          .where((q) => q.whereNull('last_heartbeat_at').orWhereRaw('fenced_at >= last_heartbeat_at')).pluck('id');
        return planOf(instance, fenced);
      });
    },

    /** A copy on a fenced host: recorded, so its agent destroys it before it serves again. */
    async leaveCopyOnFencedHost(op: OpRef, instanceId: string, hostId: string, kind: InstanceKind): Promise<void> {
      await inRun(db, op, async (trx) => {
        await recordStaleCopy(trx, instanceId, hostId, kind);
        await recordEvent(trx, { instanceId, hostId, kind: 'left-on-fenced-host', detail: `host ${hostId} is fenced: its copy is destroyed when it returns` });
      });
    },

    /** The copy cannot be brought back (it is gone): the repair ends the instance as failed instead. */
    async giveUpRestoring(op: OpRef, instanceId: string, why: string): Promise<void> {
      await inRun(db, op, (trx) => trx('instances').where({ id: instanceId, state: 'repairing' }).whereNot({ repair_to: 'deleted' })
        .update({ repair_to: 'failed', failure: why }));
    },

    /**
     * The end, in one transaction: to failed or deleted with the address and capacity given back, or
     * to the live state the copy was brought to. Returns null when the plan changed underneath
     * (a DELETE asked for the end to be `deleted`): the repair goes round again.
     */
    async finishRepair(op: OpRef, instanceId: string, planned: RepairTarget): Promise<InstanceState | null> {
      return inRun(db, op, async (trx) => {
        const instance = await lockInstance(trx, instanceId);
        if (instance?.state !== 'repairing') return instance?.state ?? null;
        if (instance.repair_to !== planned || instance.target_host_id) return null;
        if (planned === 'failed' || planned === 'deleted') await releaseHoldings(trx, instanceId);
        await clearResizeMarker(trx, instanceId);
        await transitionInstance(trx, instanceId, planned, { from: ['repairing'], failure: planned === 'failed' ? instance.failure : null });
        await recordEvent(trx, { instanceId, hostId: instance.host_id, kind: 'repaired', detail: `repaired: now ${planned}` });
        return planned;
      });
    },
  };
}
export type RepairActivities = ReturnType<typeof createRepairActivities>;
