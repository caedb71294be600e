import type { NextFunction, Request, Response } from 'express';
import type { Knex } from 'knex';
import { recordAudit } from '../db/audit';
import type { Logger } from '../lib/logger';

export const MUTATING = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);
const INSTANCE_PATH = /^\/v1\/instances\/([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})(?:\/|$)/i;

/**
 * Records every mutating request when its answer is sent: who asked (nobody, for a refused token),
 * the method, path and route, the instance it was about, the operation it started, the status and
 * the caller's address. A record that cannot be written is logged, never turned into a failed request.
 */
export function auditTrail(db: Knex, log: Logger) {
  return (req: Request, res: Response, next: NextFunction) => {
    if (!MUTATING.has(req.method)) return next();
    let answered: unknown;
    const json = res.json.bind(res);
    res.json = (body: unknown) => {
      answered = body;
      return json(body);
    };
    res.on('finish', () => {
      const body = (answered ?? {}) as { operation?: { id?: string }; instance?: { id?: string } };
      recordAudit(db, {
        userId: req.user?.id ?? null, userName: req.user?.name ?? null, method: req.method, path: req.originalUrl.slice(0, 2000),
        route: (req.route as { path?: string } | undefined)?.path ?? null,
        instanceId: INSTANCE_PATH.exec(req.path)?.[1] ?? body.instance?.id ?? null, operationId: body.operation?.id ?? null,
        status: res.statusCode, remoteAddress: req.socket.remoteAddress ?? null,
      }).catch((err: unknown) => log.error({ err, method: req.method, path: req.originalUrl }, 'the audit record was not written'));
    });
    next();
  };
}
