import type { Db } from './connection';
import { keysetPage, type Page, type PageRequest } from './page';
import { ConflictError, RunSupersededError, isUniqueViolation } from '../lib/errors';

export type OperationState = 'running' | 'succeeded' | 'failed' | 'cancelled';
export const FINISHED_STATES: readonly OperationState[] = ['succeeded', 'failed', 'cancelled'];
export interface OperationRow {
  id: string; type: string; instance_id: string | null; host_id: string | null; image_id: string | null;
  workflow_id: string; workflow_type: string | null; run_id: string | null; prior_state: string | null;
  requested_by: string | null; state: OperationState; error: string | null; error_type?: string | null;
  progress: unknown; result: unknown; input?: unknown; created_at: Date; finished_at: Date | null;
}

/** Which operation, and which run of its workflow acts for it (a reset starts a new run). */
export interface OpRef { operationId: string; runId: string }

export interface NewOperation {
  id: string; type: string; workflowId: string; workflowType: string; requestedBy: string | null;
  instanceId?: string; hostId?: string; imageId?: string; input?: unknown[]; priorState?: string;
}

const conflictOf = (err: unknown): ConflictError | null => {
  if (isUniqueViolation(err, 'operations_one_running_per_instance')) return new ConflictError('another operation is running on this instance');
  if (isUniqueViolation(err, 'operations_one_evacuation_per_host')) return new ConflictError('the host is already being evacuated');
  return null;
};

export async function insertOperation(db: Db, op: NewOperation): Promise<OperationRow> {
  try {
    const [row] = await db('operations').insert({
      id: op.id, type: op.type, workflow_id: op.workflowId, workflow_type: op.workflowType, requested_by: op.requestedBy,
      instance_id: op.instanceId ?? null, host_id: op.hostId ?? null, image_id: op.imageId ?? null,
      input: op.input === undefined ? null : JSON.stringify(op.input), prior_state: op.priorState ?? null,
    }).returning('*');
    return row;
  } catch (err) {
    throw conflictOf(err) ?? err;
  }
}

export async function getOperation(db: Db, id: string): Promise<OperationRow | undefined> {
  return db('operations').where({ id }).first();
}

export interface OperationFilter { visibleTo?: string; instanceId?: string; state?: OperationState; type?: string }

/** Newest first; `visibleTo` a user: the operations they asked for and those on their instances. */
export async function listOperations<T>(db: Db, f: OperationFilter, page: PageRequest, map: (o: OperationRow) => T): Promise<Page<T>> {
  const q = db('operations as o').select('o.*');
  if (f.visibleTo) {
    const userId = f.visibleTo;
    q.where((w) => w.where('o.requested_by', userId)
      .orWhereExists(db('instances as i').whereRaw('i.id = o.instance_id').where('i.owner_id', userId).select(db.raw('1'))));
  }
  if (f.instanceId) q.where('o.instance_id', f.instanceId);
  if (f.state) q.where('o.state', f.state);
  if (f.type) q.where('o.type', f.type);
  return keysetPage(q, { columns: ['o.created_at', 'o.id'], desc: true }, page, map);
}

/** The row was closed as succeeded by this very run (its commit went through, its answer may have been lost). */
export const succeededBy = (row: Pick<OperationRow, 'state' | 'run_id'> | undefined, op: OpRef): boolean =>
  row?.state === 'succeeded' && row.run_id === op.runId;

/**
 * A run of the operation's workflow takes the row: the first run, or a run that a reset started
 * (then a finished row is reopened: the Temporal UI's way to retry). Reopening obeys the one-running-
 * operation-per-instance rule, so a reset never runs beside another operation on the instance.
 */
export async function claimOperation(trx: Db, op: OpRef): Promise<{ row: OperationRow; reopened: boolean; finished?: true }> {
  const row = await trx('operations').where({ id: op.operationId }).forUpdate().first() as OperationRow | undefined;
  if (!row) throw new ConflictError(`operation ${op.operationId} does not exist`);
  // This very run closed it as succeeded, in a workflow task whose answer was lost (the commit went
  // through, the task timed out); the run, replaying, came here again. It is done: reopened, a cancel
  // that came meanwhile would undo an operation that succeeded.
  if (succeededBy(row, op)) return { row, reopened: false, finished: true };
  const reopened = row.state !== 'running';
  try {
    const [updated] = await trx('operations').where({ id: op.operationId })
      .update({ run_id: op.runId, state: 'running', error: null, error_type: null, finished_at: null }).returning('*');
    // Another run taking the row is a Reset from the Temporal UI (a repair's new runs are its own
    // continue-as-new): the instance's action log says so.
    if (row.run_id && row.run_id !== op.runId && row.instance_id && row.type !== 'repair') {
      await trx('instance_events').insert({
        instance_id: row.instance_id, kind: 'new-run',
        detail: `operation ${row.id} (${row.type}): run ${op.runId} took over from run ${row.run_id}${reopened ? ` after it ended ${row.state}` : ''} (a reset)`,
      });
    }
    return { row: updated, reopened };
  } catch (err) {
    throw conflictOf(err) ?? err;
  }
}

/**
 * Every state-changing step of an operation runs after this check in its own transaction: the row
 * is still running and still this run's. A step of a run that a reset replaced (or of an operation
 * the reconciler closed) acts on nothing.
 */
export async function assertRun(trx: Db, op: OpRef): Promise<OperationRow> {
  const row = await trx('operations').where({ id: op.operationId }).forUpdate().first() as OperationRow | undefined;
  if (!row || row.state !== 'running' || row.run_id !== op.runId) {
    throw new RunSupersededError(`operation ${op.operationId} is ${row?.state ?? 'gone'}${row?.run_id !== op.runId ? ', owned by another run' : ''}`);
  }
  return row;
}

export interface Outcome { state: Exclude<OperationState, 'running'>; error?: string; errorType?: string; result?: unknown }

/** Closes the run's operation; a second call (a retried step) finds it closed and changes nothing. */
export async function finishOperation(db: Db, op: OpRef, outcome: Outcome): Promise<void> {
  const n = await db('operations').where({ id: op.operationId, state: 'running', run_id: op.runId }).update(closing(outcome));
  if (n === 0) {
    const row = await getOperation(db, op.operationId);
    if (row?.run_id !== op.runId) throw new RunSupersededError(`operation ${op.operationId} is owned by another run`);
  }
}

/** Closes a running operation whatever run holds it: for the API (a workflow never started) and the reconciler. */
export async function closeOperation(db: Db, id: string, outcome: Outcome): Promise<boolean> {
  return (await db('operations').where({ id, state: 'running' }).update(closing(outcome))) === 1;
}

const closing = (o: Outcome) => ({
  state: o.state, error: o.error ?? null, error_type: o.errorType ?? null, result: o.result === undefined ? null : JSON.stringify(o.result), finished_at: new Date(),
});

export async function setOperationHost(db: Db, id: string, hostId: string): Promise<void> {
  await db('operations').where({ id }).update({ host_id: hostId });
}

/** Writes an operation's progress; with a stamp, only over progress of an older stamp (concurrent writers land in any order). */
export async function recordProgress(db: Db, id: string, progress: unknown, stamp?: number): Promise<void> {
  const q = db('operations').where({ id });
  if (stamp === undefined) {
    await q.update({ progress: JSON.stringify(progress) });
    return;
  }
  await q.where((w) => w.whereNull('progress_stamp').orWhere('progress_stamp', '<', stamp))
    .update({ progress: JSON.stringify(progress), progress_stamp: stamp });
}

/** The next number in `instance-<id>-<type>-<n>`: taken under the instance's (or host's) row lock. */
export async function nextSequence(db: Db, where: { instance_id?: string; host_id?: string }, type: string): Promise<number> {
  const row = await db('operations').where(where).where({ type }).count('* as n').first();
  return Number(row!.n) + 1;
}

/** Running operations older than `seconds`: the reconciler asks Temporal about each one's workflow. */
export async function runningOperations(db: Db, olderThanSeconds: number, limit = 500): Promise<OperationRow[]> {
  return db('operations').where({ state: 'running' })
    .whereRaw('created_at < now() - make_interval(secs => ?)', [olderThanSeconds]).orderBy('created_at').limit(limit);
}
