import type { Db } from './connection';
import { ConflictError, isUniqueViolation } from '../lib/errors';

export type OperationState = 'running' | 'succeeded' | 'failed';
export interface OperationRow {
  id: string; type: string; instance_id: string | null; host_id: string | null; image_id: string | null;
  workflow_id: string; requested_by: string | null; state: OperationState; error: string | null;
  progress: unknown; result: unknown; input?: unknown; created_at: Date; finished_at: Date | null;
}

export async function insertOperation(db: Db, op: {
  id: string; type: string; workflowId: string; requestedBy: string | null; instanceId?: string; hostId?: string; imageId?: string; input?: unknown[];
}): Promise<OperationRow> {
  try {
    const [row] = await db('operations').insert({
      id: op.id, type: op.type, workflow_id: op.workflowId, requested_by: op.requestedBy,
      instance_id: op.instanceId ?? null, host_id: op.hostId ?? null, image_id: op.imageId ?? null,
      input: op.input === undefined ? null : JSON.stringify(op.input),
    }).returning('*');
    return row;
  } catch (err) {
    if (isUniqueViolation(err, 'operations_one_running_per_instance')) {
      throw new ConflictError('another operation is running on this instance');
    }
    if (isUniqueViolation(err, 'operations_one_evacuation_per_host')) {
      throw new ConflictError('the host is already being evacuated');
    }
    throw err;
  }
}

export async function getOperation(db: Db, id: string): Promise<OperationRow | undefined> {
  return db('operations').where({ id }).first();
}

/** Idempotent: a finished operation keeps its first outcome. */
export async function finishOperation(db: Db, id: string, outcome: { state: 'succeeded' | 'failed'; error?: string; result?: unknown }): Promise<void> {
  await db('operations').where({ id, state: 'running' }).update({
    state: outcome.state, error: outcome.error ?? null,
    result: outcome.result === undefined ? null : JSON.stringify(outcome.result), finished_at: db.fn.now(),
  });
}

export async function setOperationHost(db: Db, id: string, hostId: string): Promise<void> {
  await db('operations').where({ id }).update({ host_id: hostId });
}
