import crypto from 'node:crypto';
import type { Knex } from 'knex';
import { claimIdempotencyKey, storeIdempotentResponse } from '../db/idempotency';
import { finishOperation, getOperation, insertOperation } from '../db/operations';
import { setInstanceState } from '../db/instances';
import { AppError, ConflictError, ValidationError } from '../lib/errors';
import type { Config } from '../lib/config';
import type { WorkflowStarter } from './temporal';
import { operationSearchAttributes } from '../workflows/search-attributes';

export interface OperationRequest {
  userId: string;
  idempotencyKey?: string;
  /** Hash of what the caller asked for: the same key with another request is refused. */
  requestFingerprint: unknown;
  type: string;
  workflowType: string;
  workflowId: (operationId: string) => string;
  instanceId?: string;
  zone?: string;
  /** Writes the intent (instance row, state change) inside the transaction, after the checks. */
  write: (trx: Knex.Transaction, operationId: string) => Promise<{ instanceId?: string; imageId?: string; hostId?: string; body: (op: { id: string; workflowId: string }) => unknown }>;
  workflowArgs: (ids: { operationId: string; instanceId?: string }) => unknown[];
}

export interface Deps { db: Knex; starter: WorkflowStarter; config: Config }

const KEY = /^[A-Za-z0-9._:-]{1,200}$/;

/**
 * The one path every mutating request takes: claim the idempotency key, write the intent and the
 * operation row in one transaction, then start the workflow. A replayed key answers the first
 * answer again (and makes sure its workflow was started, in case the first call died in between).
 */
export async function startOperation({ db, starter }: Deps, req: OperationRequest): Promise<{ status: number; body: unknown }> {
  if (req.idempotencyKey !== undefined && !KEY.test(req.idempotencyKey)) {
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
    const written = await req.write(trx, operationId);
    const instanceId = written.instanceId ?? req.instanceId;
    const workflowId = req.workflowId(operationId);
    const args = req.workflowArgs({ operationId, instanceId });
    await insertOperation(trx, { id: operationId, type: req.type, workflowId, requestedBy: req.userId, instanceId, imageId: written.imageId, hostId: written.hostId, input: args });
    const response = { status: 202, body: written.body({ id: operationId, workflowId }) };
    if (req.idempotencyKey) await storeIdempotentResponse(trx, req.userId, req.idempotencyKey, response);
    return { replay: false as const, response, operationId, workflowId, instanceId, args };
  });

  // A replay starts the first request's workflow with the first request's arguments, from the
  // operation row, in case that request died between its commit and its start.
  const started = outcome.replay ? await replayTarget(db, outcome.response.body) : outcome;
  if (started) {
    try {
      await starter.start(req.workflowType, started.workflowId, started.args,
        operationSearchAttributes({ instanceId: started.instanceId, zone: req.zone, operation: req.type }));
    } catch (err) {
      await db.transaction(async (trx) => {
        await finishOperation(trx, started.operationId, { state: 'failed', error: `could not start the workflow: ${String(err)}` });
        if (started.instanceId && req.type === 'create') await setInstanceState(trx, started.instanceId, 'failed', 'the workflow could not be started');
      });
      throw new AppError(503, 'Service Unavailable', 'the workflow service is unavailable; nothing was started');
    }
  }
  return outcome.response;
}

async function replayTarget(db: Knex, body: unknown) {
  const op = (body as { operation?: { id?: string } })?.operation;
  if (!op?.id) return undefined;
  const row = await getOperation(db, op.id);
  if (!row || row.state !== 'running' || !Array.isArray(row.input)) return undefined;
  return { operationId: row.id, workflowId: row.workflow_id, instanceId: row.instance_id ?? undefined, args: row.input as unknown[] };
}
