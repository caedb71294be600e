import type { Knex } from 'knex';
import type { OpRef } from '../../db/operations';
import { lockInstance } from '../../db/instances';
import { abandonResize, commitResize, commitResizeMove, undoResize } from '../../db/resize';
import { recordEvent } from '../../db/reconcile';
import type { SizeClaim } from '../../lib/resize-plan';
import { inRun, readSpec, type HostedSpec } from './instance-activities';

type Settled = 'running' | 'stopped';
export type ResizeBegun = { done: true } | { done: false; from: SizeClaim; to: SizeClaim; spec: HostedSpec };

// Control side of a resize: the claim was made with the request (db/resize.ts); these read it and end it.
export function createResizeActivities({ db }: { db: Knex }) {
  return {
    /** The sizes the API claimed; a resize no longer running (a reset run after it ended) has nothing to do. */
    async beginResize(op: OpRef, instanceId: string): Promise<ResizeBegun> {
      return inRun(db, op, async (trx) => {
        const row = await lockInstance(trx, instanceId) as (Awaited<ReturnType<typeof lockInstance>> & { resize_from: SizeClaim | null; resize_to: SizeClaim | null }) | undefined;
        if (row?.state !== 'resizing' || !row.resize_from || !row.resize_to) return { done: true };
        return { done: false, from: row.resize_from, to: row.resize_to, spec: await readSpec(trx, instanceId) };
      });
    },

    /** The engine has the new size: so has the row, and the instance is back in its state. */
    async commitResize(op: OpRef, instanceId: string, state: Settled): Promise<void> {
      await inRun(db, op, (trx) => commitResize(trx, instanceId, state));
    },

    /** A move's commit: the row is the target copy's, at the new size; the source's copy is recorded for destruction. */
    async commitResizeMove(op: OpRef, instanceId: string, state: Settled): Promise<void> {
      await inRun(db, op, (trx) => commitResizeMove(trx, instanceId, state));
    },

    /** Compensation: the engine is back at the old size (its disk at `diskGb`): so is the row. */
    async undoResize(op: OpRef, instanceId: string, state: Settled, diskGb: number | null): Promise<void> {
      await inRun(db, op, (trx) => undoResize(trx, instanceId, state, diskGb));
    },

    /** The old size could not be put back on the host: a repair conforms the copy to the old size, then its state. */
    async abandonResize(op: OpRef, instanceId: string, state: Settled, failure: string): Promise<void> {
      await inRun(db, op, async (trx) => {
        const row = await lockInstance(trx, instanceId);
        if (await abandonResize(trx, instanceId, state, failure)) {
          await recordEvent(trx, { instanceId, hostId: row?.host_id ?? null, kind: 'abandoned', detail: `resize undo failed (${failure}); repairing to ${state} at the old size` });
        }
      });
    },
  };
}
export type ResizeActivities = ReturnType<typeof createResizeActivities>;
