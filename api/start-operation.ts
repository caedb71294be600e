import crypto from 'node:crypto';
import type { Knex } from 'knex';
import type { TokenCache } from './token-cache';
import type { Workflow } from '@temporalio/common';
import { claimIdempotencyKey, storeIdempotentResponse, type StoredResponse } from '../db/idempotency';
import { closeOperation, getOperation, insertOperation, type OperationRow } from '../db/operations';
import { failUnstartedMembers, transitionInstance } from '../db/instances';
import { markImageFailed } from '../db/images';
import { undoResize } from '../db/resize';
import { AppError, ConflictError, ValidationError } from '../lib/errors';
import type { InstanceState } from '../lib/instance-states';
import { holdIfAsked } from '../lib/test-holds';
import type { Config } from '../lib/config';
import type { WorkflowStarter } from './temporal';
import { operationSearchAttributes } from '../workflows/search-attributes';

export interface Deps {
  db: Knex; starter: WorkflowStarter; config: Config;
  /** The tokens this API process checked (api/server.ts); without it every request reads its token. */
  tokens?: TokenCache;
}

export interface Intent {
  instanceId?: string; imageId?: string; hostId?: string;
  /** The state the instance (or host) was in: where an undone intent returns, and what a repair restores. */
  priorState?: string;
  /** The n of `...-<type>-<n>`, counted under the row lock that `write` took. */
  sequence?: number;
  body: (op: { id: string; workflowId: string }) => unknown;
}

export interface OperationRequest<W extends Workflow> {
  userId: string;
  idempotencyKey?: string;
  /** What the caller asked for: the same key with another request is refused. */
  requestFingerprint: unknown;
  type: string;
  workflow: W;
  workflowId: (ids: { operationId: string; sequence: number }) => string;
  instanceId?: string;
  zone?: string;
  /** Checks and writes the intent inside the transaction, after locking the rows it changes. */
  write: (trx: Knex.Transaction, operationId: string) => Promise<Intent>;
  /** The workflow's one argument (every operation workflow takes one input object). */
  input: (ids: { operationId: string; instanceId?: string }) => NoInfer<Parameters<W>[0]>;
}

/**
 * What an operation's intent is undone to when its workflow cannot be started at all: the instance
 * or host back where it was, a create's instance failed (it holds nothing yet), a conversion's
 * target image failed. Other types wrote nothing but their operation row.
 */
const UNDO_INTENT: Record<string, (trx: Knex.Transaction, op: OperationRow) => Promise<unknown>> = {
  create: (trx, op) => transitionInstance(trx, op.instance_id!, 'failed', { from: ['pending'], failure: 'its workflow could not be started' }),
  delete: (trx, op) => transitionInstance(trx, op.instance_id!, op.prior_state as InstanceState, { from: ['deleting'] }),
  evacuate: (trx, op) => trx('hosts').where({ id: op.host_id, state: 'draining' }).update({ state: op.prior_state ?? 'enabled' }),
  convert: (trx, op) => markImageFailed(trx, op.image_id!, 'its workflow could not be started'),
  'make-image': (trx, op) => markImageFailed(trx, op.image_id!, 'its workflow could not be started'),
  'batch-create': (trx, op) => failUnstartedMembers(trx, (op.input as { members?: string[] }[])[0]?.members ?? [], 'its batch could not be started'),
  resize: (trx, op) => undoResize(trx, op.instance_id!, op.prior_state as 'running' | 'stopped', null),
  snapshot: (trx, op) => trx('snapshots').where({ id: (op.input as { snapshotId?: string }[])[0]?.snapshotId ?? null, state: 'pending' })
    .update({ state: 'failed', failure: 'its workflow could not be started' }),
};

/** What an Idempotency-Key may be. */
export const IDEMPOTENCY_KEY = /^[A-Za-z0-9._:-]{1,200}$/;

/**
 * The one path every operation takes: claim the idempotency key, write the intent and the
 * operation row (with the workflow's type and arguments) in one transaction, then start the
 * workflow by its function. A replayed key answers the first answer again and makes sure its
 * workflow was started; if the API died in between, the reconciler starts it from the row. If the
 * workflow cannot be started, the intent is undone, the operation fails, and the key's stored
 * answer becomes that 503.
 */
export async function startOperation<W extends Workflow>({ db, starter }: Deps, req: OperationRequest<W>): Promise<StoredResponse> {
  if (req.idempotencyKey !== undefined && !IDEMPOTENCY_KEY.test(req.idempotencyKey)) {
    throw new ValidationError('bad Idempotency-Key', [{ path: 'Idempotency-Key', message: 'must be 1-200 of [A-Za-z0-9._:-]' }]);
  }
  const hash = crypto.createHash('sha256').update(JSON.stringify(req.requestFingerprint)).digest('hex');
  const outcome = await db.transaction(async (trx) => {
    if (req.idempotencyKey) {
      const claim = await claimIdempotencyKey(trx, req.userId, req.idempotencyKey, hash);
      if (claim.kind === 'mismatch') throw new AppError(422, 'Unprocessable Entity', 'this Idempotency-Key was used with another request');
      if (claim.kind === 'in-progress') throw new ConflictError('a request with this Idempotency-Key is in progress');
      if (claim.kind === 'replay') return { replay: true as const, response: claim.response };
    }
    const operationId = crypto.randomUUID();
    const intent = await req.write(trx, operationId);
    const instanceId = intent.instanceId ?? req.instanceId;
    const workflowId = req.workflowId({ operationId, sequence: intent.sequence ?? 1 });
    const args = [req.input({ operationId, instanceId })];
    await insertOperation(trx, {
      id: operationId, type: req.type, workflowId, workflowType: req.workflow.name, requestedBy: req.userId,
      instanceId, imageId: intent.imageId, hostId: intent.hostId, input: args, priorState: intent.priorState,
    });
    const response = { status: 202, body: intent.body({ id: operationId, workflowId }) };
    if (req.idempotencyKey) await storeIdempotentResponse(trx, req.userId, req.idempotencyKey, response);
    return { replay: false as const, response, operationId, workflowId, instanceId, hostId: intent.hostId, args };
  });
  await holdIfAsked(`api.after-commit.${req.type}`);

  // A replay starts the first request's workflow with the first request's arguments, from the
  // operation row, in case that request died between its commit and its start.
  const started = outcome.replay ? await replayTarget(db, outcome.response.body) : outcome;
  if (!started) return outcome.response;
  try {
    await starter.start(req.workflow, started.workflowId, started.args as Parameters<W>,
      operationSearchAttributes({ instanceId: started.instanceId, hostId: started.hostId, zone: req.zone, operation: req.type }));
  } catch (err) {
    const problem = { status: 503, body: { type: 'https://vcloud.invalid/problems/503', title: 'Service Unavailable', status: 503,
      detail: `the workflow service is unavailable; nothing was started (operation ${started.operationId} failed)` } };
    await db.transaction(async (trx) => {
      const op = (await trx('operations').where({ id: started.operationId }).forUpdate().first()) as OperationRow;
      if (await closeOperation(trx, op.id, { state: 'failed', error: `its workflow could not be started: ${String(err)}` })) {
        await UNDO_INTENT[op.type]?.(trx, op);
      }
      if (req.idempotencyKey) await storeIdempotentResponse(trx, req.userId, req.idempotencyKey, problem);
    });
    throw new AppError(503, 'Service Unavailable', problem.body.detail);
  }
  return outcome.response;
}

async function replayTarget(db: Knex, body: unknown) {
  const row = await replayedOperation(db, body);
  if (!row) return undefined;
  return { operationId: row.id, workflowId: row.workflow_id, instanceId: row.instance_id ?? undefined, hostId: row.host_id ?? undefined, args: row.input as unknown[] };
}

async function replayedOperation(db: Knex, body: unknown): Promise<OperationRow | undefined> {
  const op = (body as { operation?: { id?: string } } | null)?.operation;
  if (!op?.id) return undefined;
  const row = await getOperation(db, op.id);
  return row && row.state === 'running' && Array.isArray(row.input) ? row : undefined;
}

/**
 * A replayed answer starts the first request's workflow (by its recorded type, with its recorded
 * arguments, from the operation row) in case that request died between its commit and its start;
 * one already started counts as started. The reconciler would start it too, later.
 */
export async function startReplayed({ db, starter }: Pick<Deps, 'db' | 'starter'>, response: StoredResponse): Promise<void> {
  const row = await replayedOperation(db, response.body);
  if (!row?.workflow_type) return;
  const zone = row.instance_id ? (await db('instances').where({ id: row.instance_id }).first('zone_id'))?.zone_id : undefined;
  await starter.start(row.workflow_type, row.workflow_id, row.input as unknown[],
    operationSearchAttributes({ instanceId: row.instance_id ?? undefined, hostId: row.host_id ?? undefined, zone, operation: row.type }));
}
