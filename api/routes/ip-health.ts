import { Router } from 'express';
import { z } from 'zod';
import { asyncRoute } from '../async-route';
import { requireAdmin } from '../auth';
import { reply, validationError } from '../problem';
import { startOperation, type Deps } from '../start-operation';
import { acceptedOperation } from '../views';
import { ipPoolHealth } from '../../workflows';
import { listHealthRuns } from '../../db/ip-health';

const runsQuery = z.object({ zone: z.string().max(63).optional(), limit: z.coerce.number().int().min(1).max(500).optional() }).strict();

// The IP-pool health check: run one now (besides the Schedule), and read what the runs found.
export function ipHealthRoutes(deps: Deps): Router {
  const router = Router();
  router.post('/v1/ip-health/checks', asyncRoute(async (req, res) => {
    const user = requireAdmin(req);
    const answer = await startOperation(deps, {
      userId: user.id, idempotencyKey: req.header('idempotency-key'), requestFingerprint: ['ip-health'],
      type: 'ip-health', workflow: ipPoolHealth, workflowId: ({ operationId }) => `ip-pool-health-manual-${operationId}`,
      write: async () => ({ body: (op) => ({ operation: acceptedOperation(deps.config, op, 'ip-health', {}, user.id) }) }),
      input: ({ operationId }) => ({ operationId }),
    });
    reply(res, answer);
  }));
  router.get('/v1/ip-health/runs', asyncRoute(async (req, res) => {
    requireAdmin(req);
    const q = runsQuery.safeParse(req.query);
    if (!q.success) throw validationError(q.error);
    res.json({ items: await listHealthRuns(deps.db, q.data.zone, q.data.limit ?? 50) });
  }));
  return router;
}
