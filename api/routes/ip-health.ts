import { Router } from 'express';
import { asyncRoute } from '../async-route';
import { requireAdmin } from '../auth';
import { parse, reply } from '../problem';
import { runsQuery } from '../schemas';
import { startOperation, type Deps } from '../start-operation';
import { acceptedOperation } from '../views';
import { ipPoolHealth } from '../../workflows';
import { listHealthRuns } from '../../db/ip-health';


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
    const { zone, ...page } = parse(runsQuery, req.query);
    res.json(await listHealthRuns(deps.db, zone, page));
  }));
  return router;
}
