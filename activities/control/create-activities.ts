import type { Knex } from 'knex';
import { claimHost } from '../../db/placement';
import { allocateAddress } from '../../db/ipam';
import { lockInstance, transitionInstance, type InstanceRow } from '../../db/instances';
import { assertRun, finishOperation, getOperation, setOperationHost, succeededBy, type OpRef } from '../../db/operations';
import { getUser } from '../../db/users';
import { reserveQuota } from '../../db/grants';
import { ConflictError, RunSupersededError, StateConflictError, isUniqueViolation } from '../../lib/errors';
import type { InstanceState } from '../../lib/instance-states';
import { inRun, readSpec, releaseHoldings, type ControlDeps, type HostedSpec } from './instance-activities';

export type Begun = { done: true; hostId: string | null; ip: string | null } | { done: false; hostId: null; ip: null };
export type Provisioned = { done: true; hostId: string; ip: string } | { done: false; hostId: string; ip: string; spec: HostedSpec };

/** The states a create owns: what its undo may give the holdings of back. */
const CREATE_OWNS: readonly InstanceState[] = ['pending', 'provisioning'];

// A create's control steps. Each is idempotent: a retry finds what an earlier attempt took.
export function createCreateActivities({ db, ratios, hostLiveSeconds }: Pick<ControlDeps, 'db' | 'ratios' | 'hostLiveSeconds'>) {
  /**
   * Takes the instance into `provisioning` for this run. A reset run of a create that failed
   * provisions again (its quota checked anew); one that already succeeded is done.
   */
  const begin = (op: OpRef, instanceId: string, reopened: boolean): Promise<Extract<Begun, { done: true }> | { done: false; instance: InstanceRow }> => inRun(db, op, async (trx) => {
    const instance = await lockInstance(trx, instanceId);
    if (!instance) throw new StateConflictError(`instance ${instanceId} does not exist`);
    if (instance.state === 'running') return { done: true as const, hostId: instance.host_id, ip: instance.ip };
    if (instance.state === 'failed' && reopened) {
      const owner = await getUser(trx, instance.owner_id);
      if (owner) await reserveQuota(trx, owner, instance.zone_id, { instances: 1, vcpus: instance.vcpus, memoryMb: instance.memory_mb, diskGb: instance.disk_gb });
    }
    const from: InstanceState[] = reopened ? ['pending', 'provisioning', 'failed'] : ['pending', 'provisioning'];
    try {
      await transitionInstance(trx, instanceId, 'provisioning', { from });
    } catch (err) {
      if (isUniqueViolation(err)) throw new ConflictError(`the name ${instance.name} is taken by another live instance`);
      throw err;
    }
    return { done: false as const, instance };
  });
  // The step of the creates begun by steps (before 'create-one-host-step'): its result is recorded in their histories as it was.
  const beginCreate = async (op: OpRef, instanceId: string, reopened: boolean): Promise<Begun> => {
    const begun = await begin(op, instanceId, reopened);
    return begun.done ? begun : { done: false, hostId: null, ip: null };
  };

  return {
    beginCreate,

    /**
     * Everything a create does before its host work, as one step (one local activity where there
     * were four: bench/profile-create): begin, the host's claim (its own transactions, see
     * db/placement.ts), then the address and the spec the host builds from, in one transaction.
     */
    async provisionCreate(op: OpRef, instanceId: string, reopened: boolean): Promise<Provisioned> {
      const begun = await begin(op, instanceId, reopened);
      if (begun.done) return { done: true, hostId: begun.hostId!, ip: begun.ip! };
      // The row as begin locked it: what placement reads of it (zone, size, app, an earlier claim) a begin does not change.
      const claim = await claimHost(db, begun.instance, ratios, hostLiveSeconds);
      return inRun(db, op, async (trx) => {
        await setOperationHost(trx, op.operationId, claim.hostId);
        const allocation = await allocateAddress(trx, (await lockInstance(trx, instanceId))!);
        return { done: false, hostId: claim.hostId, ip: allocation.ip, spec: await readSpec(trx, instanceId) };
      });
    },

    /**
     * The create's end, one transaction where there were two local activities (settle, then close the
     * operation): the instance running and its operation succeeded with `result`, or neither, so a
     * failure here leaves everything to the create's undos. Found done by this run (a retry after a
     * lost answer), it changes nothing.
     */
    async completeCreate(op: OpRef, instanceId: string, result: { hostId: string; ip: string }): Promise<void> {
      await db.transaction(async (trx) => {
        try {
          await assertRun(trx, op);
        } catch (err) {
          if (err instanceof RunSupersededError && succeededBy(await getOperation(trx, op.operationId), op)) return;
          throw err;
        }
        await transitionInstance(trx, instanceId, 'running', { from: ['provisioning'] });
        await finishOperation(trx, op, { state: 'succeeded', result });
      });
    },

    /**
     * The undo of provisionCreate: the address and the capacity back, in one transaction, only
     * while the instance is in a state the create owns (a begin that failed took nothing).
     */
    async releaseCreateHoldings(op: OpRef, instanceId: string): Promise<void> {
      await inRun(db, op, async (trx: Knex.Transaction) => {
        const instance = await lockInstance(trx, instanceId);
        if (instance && CREATE_OWNS.includes(instance.state)) await releaseHoldings(trx, instanceId);
      });
    },
  };
}
