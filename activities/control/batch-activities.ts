import crypto from 'node:crypto';
import type { Knex } from 'knex';
import { failUnstartedMembers, lockInstance, transitionInstance } from '../../db/instances';
import { getOperation, insertOperation, nextSequence, type OpRef } from '../../db/operations';
import { DELETABLE_STATES } from '../../lib/instance-states';
import { inRun } from './instance-activities';

export type Member = { operationId: string; workflowId: string } | { skip: string };
export interface OperationOutcome { state: 'running' | 'succeeded' | 'failed' | 'cancelled' | 'missing'; error: string | null; result: unknown }

/**
 * A batch create's members are instance rows the API wrote `pending` (their quota held); each
 * member's own create operation is written when the batch starts it, so no member's workflow is
 * started by anyone but its batch, at most `concurrency` at a time.
 */
export function createBatchActivities({ db }: { db: Knex }) {
  return {
    /** How a child operation stands (workflows/child-operation.ts follows one it could not start). */
    async operationOutcome(operationId: string): Promise<OperationOutcome> {
      const row = await getOperation(db, operationId);
      if (!row) return { state: 'missing', error: `operation ${operationId} does not exist`, result: null };
      return { state: row.state as OperationOutcome['state'], error: row.error ?? null, result: row.result ?? null };
    },
    async beginMemberCreate(op: OpRef, instanceId: string, requestedBy: string | null, hostScheduleToStartSeconds?: number): Promise<Member> {
      return inRun(db, op, async (trx) => {
        const instance = await lockInstance(trx, instanceId);
        if (instance?.state !== 'pending') return { skip: `it is ${instance?.state ?? 'gone'}` };
        // A reset run of the batch finds the members the first run started: not started twice.
        const earlier = await trx('operations').where({ instance_id: instanceId, type: 'create' }).first('state');
        if (earlier) return { skip: `its create already ran (${earlier.state})` };
        const operationId = crypto.randomUUID();
        const workflowId = `instance-${instanceId}-create`;
        await insertOperation(trx, {
          id: operationId, type: 'create', workflowId, workflowType: 'createInstance', requestedBy, instanceId, priorState: 'pending',
          input: [{ instanceId, operationId, hostScheduleToStartSeconds }],
        });
        return { operationId, workflowId };
      });
    },

    /** Members the batch never started (it failed or was cancelled first): failed, so they hold no quota. */
    async failUnstartedMembers(op: OpRef, instanceIds: string[], reason: string): Promise<number> {
      return inRun(db, op, (trx) => failUnstartedMembers(trx, instanceIds, reason));
    },

    /** An all-or-nothing batch that failed deletes the members it made, each by its own delete operation. */
    async beginMemberDelete(op: OpRef, instanceId: string, requestedBy: string | null, hostScheduleToStartSeconds?: number): Promise<Member> {
      return inRun(db, op, async (trx) => {
        const instance = await lockInstance(trx, instanceId);
        if (!instance || !DELETABLE_STATES.includes(instance.state)) return { skip: `it is ${instance?.state ?? 'gone'}` };
        const n = await nextSequence(trx, { instance_id: instanceId }, 'delete');
        const operationId = crypto.randomUUID();
        const workflowId = n === 1 ? `instance-${instanceId}-delete` : `instance-${instanceId}-delete-${n}`;
        await transitionInstance(trx, instanceId, 'deleting', { from: DELETABLE_STATES });
        await insertOperation(trx, {
          id: operationId, type: 'delete', workflowId, workflowType: 'deleteInstance', requestedBy, instanceId, priorState: instance.state,
          input: [{ instanceId, operationId, hostScheduleToStartSeconds }],
        });
        return { operationId, workflowId };
      });
    },
  };
}
