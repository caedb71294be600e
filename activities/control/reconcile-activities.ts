import crypto from 'node:crypto';
import type { Knex } from 'knex';
import { WorkflowExecutionAlreadyStartedError, WorkflowNotFoundError, type Client } from '@temporalio/client';
import { lockInstance, transitionInstance, failUnstartedMembers } from '../../db/instances';
import { closeOperation, insertOperation, nextSequence, runningOperations, type OperationRow } from '../../db/operations';
import { clearStaleCopy, staleCopiesOn } from '../../db/snapshots';
import { liveSince } from '../../db/host-liveness';
import { recomputeHostUsage } from '../../db/placement';
import { abandonResize } from '../../db/resize';
import { forgetSighting, instancesExpectedOn, recordEvent, recordSightings, type Sighting } from '../../db/reconcile';
import { SETTLED_STATES, type InstanceState, type RepairTarget, type SettledState } from '../../lib/instance-states';
import type { EngineObject, InstanceKind } from '../../drivers/instance-driver';
import type { HostInventory } from '../host/instance-activities';
import { operationSearchAttributes } from '../../workflows/search-attributes';

export interface ReconcileDeps {
  db: Knex;
  temporal: () => Promise<Client>;
  controlQueue: string;
  hostLiveSeconds: number;
  /** A running operation younger than this is not looked at (its workflow may be starting). */
  operationGraceSeconds: number;
  /** An engine object without a live instance (or the reverse) is acted on once seen this long, twice. */
  orphanGraceSeconds: number;
}

export interface Leftover { instanceId: string; kind: InstanceKind; reason: string }
export interface HostPlan { hostId: string; destroy: Leftover[]; repairs: string[]; watching: number }
export interface OperationReview { started: string[]; closed: { operationId: string; workflowId: string; status: string }[] }

/** Control workers and the database agree on the time to within this (NTP), with room to spare. */
const CLOCK_MARGIN_MS = 2000;

const settled = (s: InstanceState): s is SettledState => (SETTLED_STATES as readonly string[]).includes(s);

/**
 * Where an instance left by a closed workflow must end: a create that never finished ends failed, a
 * delete deleted, a migration back in its prior state; after an action or a snapshot (which leave
 * the state alone) the host copy is brought back to the state the database says. Null: nothing to do.
 */
export function repairAfterAbandoned(op: Pick<OperationRow, 'type' | 'prior_state'>, state: InstanceState): RepairTarget | null {
  if (state === 'repairing' || state === 'deleted' || state === 'failed') return null;
  if (state === 'pending' || state === 'provisioning') return 'failed';
  if (state === 'deleting') return 'deleted';
  if (state === 'migrating' || state === 'resizing') return settled(op.prior_state as InstanceState) ? (op.prior_state as SettledState) : 'running';
  if (['start', 'stop', 'pause', 'resume', 'reboot', 'snapshot'].includes(op.type)) return state;
  return null;
}

// The reconciler's control side: operations whose workflow is gone, repairs to start, each host's
// engines against the database, and the hosts' used capacity.
export function createReconcileActivities(deps: ReconcileDeps) {
  const { db } = deps;

  /** An operation whose workflow closed without closing it (terminated, timed out): closed, and what it held repaired. */
  async function closeAbandoned(op: OperationRow, status: string): Promise<boolean> {
    return db.transaction(async (trx) => {
      const error = `its workflow ${status === 'NOT_FOUND' ? 'was never started' : `ended ${status.toLowerCase().replace(/_/g, ' ')}`} without finishing the operation`;
      if (!(await closeOperation(trx, op.id, { state: status === 'CANCELLED' ? 'cancelled' : 'failed', error }))) return false;
      if (op.instance_id) {
        const instance = await lockInstance(trx, op.instance_id);
        const to = instance ? repairAfterAbandoned(op, instance.state) : null;
        if (instance && to && instance.state === 'resizing') {
          // Either size may be on the engine: the row goes back to the old one and the repair conforms the copy to it.
          await abandonResize(trx, instance.id, to as 'running' | 'stopped', `${op.type} ${error}`);
          await recordEvent(trx, { instanceId: instance.id, hostId: instance.host_id, kind: 'abandoned', detail: `${op.type} ${error}; repairing to ${to} at the old size` });
        } else if (instance && to) {
          await transitionInstance(trx, instance.id, 'repairing', { from: [instance.state], failure: `${op.type} ${error}`, repairTo: to });
          await recordEvent(trx, { instanceId: instance.id, hostId: instance.host_id, kind: 'abandoned', detail: `${op.type} ${error}; repairing to ${to}` });
        }
      }
      if (op.type === 'snapshot') {
        const snapshotId = (op.input as { snapshotId?: string }[] | null)?.[0]?.snapshotId;
        if (snapshotId) await trx('snapshots').where({ id: snapshotId, state: 'pending' }).update({ state: 'failed', failure: error });
      }
      if (op.type === 'evacuate' && op.host_id) {
        await trx('hosts').where({ id: op.host_id, state: 'draining' }).update({ state: op.prior_state === 'disabled' || op.prior_state === 'down' ? op.prior_state : 'enabled' });
      }
      if ((op.type === 'convert' || op.type === 'make-image') && op.image_id) await trx('images').where({ id: op.image_id, state: 'pending' }).update({ state: 'failed', failure: error });
      if (op.type === 'batch-create') {
        // Members it never started hold quota and nothing else; those it started are operations of their own.
        await failUnstartedMembers(trx, (op.input as { members?: string[] }[] | null)?.[0]?.members ?? [], `its batch ${error}`);
      }
      return true;
    });
  }

  return {
    /**
     * Running operations past the grace period, each looked up in Temporal: one whose workflow was
     * never started (the API died between its commit and the start) is started now from its stored
     * input; one whose workflow is closed is closed and repaired.
     */
    async reviewOperations(): Promise<OperationReview> {
      const client = await deps.temporal();
      const review: OperationReview = { started: [], closed: [] };
      for (const op of await runningOperations(db, deps.operationGraceSeconds)) {
        let status: string;
        try {
          const d = await client.workflow.getHandle(op.workflow_id).describe();
          // An execution that started before the operation existed is another one's under the same id
          // (ids come from the database's counts): this operation's workflow was never started.
          status = d.startTime.getTime() < new Date(op.created_at).getTime() - CLOCK_MARGIN_MS ? 'NOT_FOUND' : d.status.name;
        } catch (err) {
          if (!(err instanceof WorkflowNotFoundError)) throw err;
          status = 'NOT_FOUND';
        }
        if (status === 'RUNNING') continue;
        if (status === 'NOT_FOUND' && op.workflow_type && Array.isArray(op.input)) {
          const zone = op.instance_id ? (await db('instances').where({ id: op.instance_id }).first('zone_id'))?.zone_id : undefined;
          try {
            await client.workflow.start(op.workflow_type, {
              taskQueue: deps.controlQueue, workflowId: op.workflow_id, args: op.input,
              typedSearchAttributes: operationSearchAttributes({ instanceId: op.instance_id ?? undefined, hostId: op.host_id, zone, operation: op.type }),
            });
            review.started.push(op.workflow_id);
          } catch (err) {
            // An older execution under this id still runs: it ends on its own, and the next round starts this one.
            if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
          }
        } else if (await closeAbandoned(op, status)) {
          review.closed.push({ operationId: op.id, workflowId: op.workflow_id, status });
        }
      }
      return review;
    },

    /** A repair operation for each repairing instance that has none running: the reconcile workflow starts them. */
    async openRepairs(limit = 100): Promise<{ workflowId: string; args: [{ operationId: string; instanceId: string }] }[]> {
      const ids: string[] = await db('instances').where({ state: 'repairing' })
        .whereNotExists((q) => q.from('operations as o').whereRaw('o.instance_id = instances.id').where('o.state', 'running'))
        .orderBy('updated_at').limit(limit).pluck('id');
      const opened = [];
      for (const instanceId of ids) {
        const one = await db.transaction(async (trx) => {
          const instance = await lockInstance(trx, instanceId);
          if (instance?.state !== 'repairing') return null;
          if (await trx('operations').where({ instance_id: instanceId, state: 'running' }).first('id')) return null;
          const n = await nextSequence(trx, { instance_id: instanceId }, 'repair');
          const operationId = crypto.randomUUID();
          const workflowId = `instance-${instanceId}-repair-${n}`;
          const args: [{ operationId: string; instanceId: string }] = [{ operationId, instanceId }];
          await insertOperation(trx, { id: operationId, type: 'repair', workflowId, workflowType: 'repairInstance', requestedBy: null, instanceId, input: args, priorState: 'repairing' });
          return { workflowId, args };
        });
        if (one) opened.push(one);
      }
      return opened;
    },

    /** Hosts heard from lately, whatever their state: a disabled host's engines are still compared. */
    async hostsToReconcile(): Promise<string[]> {
      return db('hosts').where(liveSince(deps.hostLiveSeconds)).orderBy('id').pluck('id');
    },

    /**
     * A host's engines against the database (as Nova's _sync_power_states, without entering a guest):
     * - an object without a live instance here is a leftover: destroyed at once if it is a recorded
     *   stale copy, else once seen for the grace period, twice;
     * - a live, settled instance whose copy disagrees (a container exited after dockerd restarted,
     *   a VM left frozen by a snapshot, a veth gone) is handed to a repair that brings it back;
     * - one whose copy is gone (seen so for the grace period) is repaired to failed.
     * Instances with an operation running, or one that ended since the inventory was asked for, are left
     * to it (the engine may have been read in the middle of it).
     */
    async planHost(hostId: string, inventory: HostInventory, askedAt: number): Promise<HostPlan> {
      // An instance whose state changed since just before the inventory was asked for is judged next
      // time: the engine may have been read before the operation that changed it.
      const changedSince = (i: { updated_at: Date }) => new Date(i.updated_at).getTime() > askedAt - CLOCK_MARGIN_MS;
      const expected = new Map((await instancesExpectedOn(db, hostId, new Date(askedAt - CLOCK_MARGIN_MS))).map((i) => [i.id as string, i]));
      const stale = new Set((await staleCopiesOn(db, hostId)).map((s) => s.instance_id));
      const observed = new Map<string, EngineObject[]>();
      for (const o of inventory.objects) observed.set(o.instanceId, [...(observed.get(o.instanceId) ?? []), o]);

      const plan: HostPlan = { hostId, destroy: [], repairs: [], watching: 0 };
      const sightings: Sighting[] = [];
      const orphans: Leftover[] = [];
      const drifted: { id: string; want: SettledState; why: string }[] = [];
      for (const [instanceId, objects] of observed) {
        const live = expected.get(instanceId);
        if (!live) {
          for (const o of objects) {
            if (stale.has(instanceId)) plan.destroy.push({ instanceId, kind: o.kind, reason: 'a stale copy left by a move' });
            else orphans.push({ instanceId, kind: o.kind, reason: 'no live instance has it here' });
          }
          if (!stale.has(instanceId)) sightings.push({ instanceId, kind: 'orphan' });
          continue;
        }
        if (live.busy || live.host_id !== hostId || !settled(live.state) || changedSince(live)) continue;
        const o = objects.find((x) => x.kind === live.kind);
        if (!o || o.state === 'absent') continue;
        const why = o.frozen ? 'a snapshot left it frozen or paused'
          : o.state !== live.state ? `the engine has it ${o.state}`
          : live.state === 'running' && !o.attached ? 'its network is gone' : null;
        if (why) drifted.push({ id: instanceId, want: live.state, why });
      }
      for (const [id, live] of expected) {
        if (live.busy || live.host_id !== hostId || !settled(live.state) || changedSince(live) || !inventory.kinds.includes(live.kind)) continue;
        const o = observed.get(id)?.find((x) => x.kind === live.kind);
        if (!o || o.state === 'absent') sightings.push({ instanceId: id, kind: 'missing' });
      }

      const ripe = await recordSightings(db, hostId, sightings);
      const isRipe = (s: Sighting) => {
        const r = ripe.get(`${s.kind}:${s.instanceId}`);
        return r !== undefined && r.rounds >= 2 && r.seconds >= deps.orphanGraceSeconds;
      };
      for (const o of orphans) {
        if (isRipe({ instanceId: o.instanceId, kind: 'orphan' })) plan.destroy.push(o);
        else plan.watching++;
      }
      const repair = async (id: string, from: InstanceState, to: RepairTarget, detail: string) => db.transaction(async (trx) => {
        const instance = await lockInstance(trx, id);
        if (!instance || instance.state !== from || instance.host_id !== hostId) return;
        if (await trx('operations').where({ instance_id: id, state: 'running' }).first('id')) return;
        await transitionInstance(trx, id, 'repairing', { from: [from], failure: detail, repairTo: to });
        await recordEvent(trx, { instanceId: id, hostId, kind: to === 'failed' ? 'missing' : 'drift', detail });
        plan.repairs.push(id);
      });
      for (const d of drifted) await repair(d.id, d.want, d.want, `${d.why}; repairing it back to ${d.want}`);
      for (const s of sightings) {
        if (s.kind !== 'missing') continue;
        const live = expected.get(s.instanceId)!;
        if (isRipe(s)) await repair(s.instanceId, live.state as InstanceState, 'failed', `its copy is gone from host ${hostId}`);
        else plan.watching++;
      }
      // Stale copies superseded (the instance lives here again) or already gone need no destroying.
      for (const id of stale) {
        if (expected.has(id) || !observed.has(id)) await clearStaleCopy(db, id, hostId);
      }
      return plan;
    },

    /** Just before destroying a leftover: is it still nobody's here? */
    async confirmLeftover(hostId: string, instanceId: string): Promise<boolean> {
      const live = (await instancesExpectedOn(db, hostId)).some((i) => i.id === instanceId);
      return !live;
    },

    async leftoverDestroyed(hostId: string, leftover: Leftover): Promise<void> {
      await db.transaction(async (trx) => {
        await clearStaleCopy(trx, leftover.instanceId, hostId);
        await forgetSighting(trx, hostId, leftover.instanceId);
        await recordEvent(trx, { instanceId: leftover.instanceId, hostId, kind: 'leftover-destroyed', detail: `destroyed a ${leftover.kind} copy: ${leftover.reason}` });
      });
    },

    /** Hosts' used capacity recomputed from the instances' claims; each correction is an event. */
    async recomputeUsage(): Promise<{ hostId: string; was: unknown; now: unknown }[]> {
      const corrections = await recomputeHostUsage(db);
      for (const c of corrections) {
        await recordEvent(db, { instanceId: null, hostId: c.hostId, kind: 'usage-corrected', detail: `used capacity was ${JSON.stringify(c.was)}, is ${JSON.stringify(c.now)}` });
      }
      return corrections;
    },
  };
}
export type ReconcileActivities = ReturnType<typeof createReconcileActivities>;
