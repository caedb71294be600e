import { Router } from 'express';
import { asyncRoute } from '../async-route';
import { requireAdmin } from '../auth';
import { reply } from '../problem';
import { startOperation, type Deps } from '../start-operation';
import { acceptedOperation } from '../views';
import { storageGc } from '../../workflows';

// The storage garbage collection now, besides its Schedule: what it freed is the operation's result.
export function storageGcRoutes(deps: Deps): Router {
  const router = Router();
  router.post('/v1/storage/gc', asyncRoute(async (req, res) => {
    const user = requireAdmin(req);
    const answer = await startOperation(deps, {
      userId: user.id, idempotencyKey: req.header('idempotency-key'), requestFingerprint: ['storage-gc'],
      type: 'storage-gc', workflow: storageGc, workflowId: ({ operationId }) => `storage-gc-manual-${operationId}`,
      write: async () => ({ body: (op) => ({ operation: acceptedOperation(deps.config, op, 'storage-gc', {}, user.id) }) }),
      input: ({ operationId }) => ({ operationId }),
    });
    reply(res, answer);
  }));
  return router;
}
