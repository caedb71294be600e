import type { Db } from './connection';
import { keysetPage, type PageRequest } from './page';

export interface AuditEntry {
  userId: string | null; userName: string | null; method: string; path: string; route: string | null;
  instanceId: string | null; operationId: string | null; status: number; remoteAddress: string | null;
}

export async function recordAudit(db: Db, e: AuditEntry): Promise<void> {
  await db('audit_log').insert({
    user_id: e.userId, user_name: e.userName, method: e.method, path: e.path, route: e.route, instance_id: e.instanceId,
    operation_id: e.operationId, status: e.status, remote_address: e.remoteAddress,
  });
}

export interface AuditFilter { userId?: string; instanceId?: string; since?: Date; until?: Date }

/** Newest first. */
export async function listAudit(db: Db, f: AuditFilter, page: PageRequest) {
  const q = db('audit_log').select(
    'id', 'at', 'user_id as userId', 'user_name as userName', 'method', 'path', 'route', 'instance_id as instanceId',
    'operation_id as operationId', 'status', 'remote_address as remoteAddress',
  );
  if (f.userId) q.where('user_id', f.userId);
  if (f.instanceId) q.where('instance_id', f.instanceId);
  if (f.since) q.where('at', '>=', f.since);
  if (f.until) q.where('at', '<', f.until);
  return keysetPage(q, { columns: ['id'], desc: true }, page, (r: Record<string, unknown>) => ({ ...r, id: Number(r.id) }));
}

/**
 * An instance's actions (as Nova's instance actions): its operations, newest first, each with who
 * asked and what an operator did to its workflow as far as the platform saw it (a Cancel closes it
 * cancelled; a Terminate or a timeout is found by the reconciler; a Reset is a new run taking it).
 */
export async function instanceActions(db: Db, instanceId: string, page: PageRequest) {
  const q = db('operations as o').leftJoin('users as u', 'u.id', 'o.requested_by').where('o.instance_id', instanceId)
    .select('o.id', 'o.type', 'o.state', 'o.error', 'o.created_at', 'o.finished_at', 'o.workflow_id', 'u.name as user_name');
  const ops = await keysetPage(q, { columns: ['o.created_at', 'o.id'], desc: true }, page, (o: Record<string, any>) => o);
  const runs = await db('instance_events').where({ instance_id: instanceId, kind: 'new-run' }).select('detail');
  return { next: ops.next, items: ops.items.map((o) => {
    const operator: string[] = [];
    if (o.state === 'cancelled') operator.push('cancelled');
    const ended = /its workflow ended (terminated|timed out|failed|cancelled|continued as new)/.exec(o.error ?? '');
    if (ended && ended[1] !== 'cancelled') operator.push(ended[1]);
    if (runs.some((r) => r.detail.includes(o.id))) operator.push('reset');
    return {
      operationId: o.id, type: o.type, state: o.state, requestedBy: o.user_name ?? 'the platform', startedAt: o.created_at,
      finishedAt: o.finished_at, workflowId: o.workflow_id, operatorActions: operator,
    };
  }) };
}
