import { Router } from 'express';
import { asyncRoute } from '../async-route';
import { currentUser } from '../auth';
import { reply, validationError } from '../problem';
import { resizeBody } from '../schemas';
import { startOperation, type Deps } from '../start-operation';
import { acceptedOperation, instanceView } from '../views';
import { visibleInstance } from './instances';
import { lockInstance } from '../../db/instances';
import { nextSequence } from '../../db/operations';
import { reserveQuota } from '../../db/grants';
import { claimResize } from '../../db/resize';
import { AppError, ConflictError } from '../../lib/errors';
import { RESIZABLE_STATES } from '../../lib/instance-states';
import { PLAN_DETAIL, planResize, resizeRefusal, sizeOfRow, targetSize, type ResizePlan } from '../../lib/resize-plan';
import { hostLiveSeconds, placementRatios } from '../../lib/config';
import { resizeInstance } from '../../workflows';

// POST /v1/instances/:id/resize: quota, the host's room and the plan are settled in the request's transaction.
export function resizeRoutes(deps: Deps): Router {
  const { config } = deps;
  const router = Router();

  router.post('/v1/instances/:id/resize', asyncRoute(async (req, res) => {
    const user = currentUser(req);
    const instance = await visibleInstance(deps, user, req.params.id);
    const parsed = resizeBody.safeParse(req.body ?? {});
    if (!parsed.success) throw validationError(parsed.error);
    let plan: ResizePlan = 'offline';
    let prior: 'running' | 'stopped' = 'stopped';
    const answer = await startOperation(deps, {
      userId: user.id, idempotencyKey: req.header('idempotency-key'), requestFingerprint: ['resize', instance.id, parsed.data],
      type: 'resize', workflow: resizeInstance, workflowId: ({ sequence }) => `instance-${instance.id}-resize-${sequence}`,
      instanceId: instance.id, zone: instance.zone_id,
      write: async (trx) => {
        const locked = await lockInstance(trx, instance.id);
        if (!locked || !RESIZABLE_STATES.includes(locked.state) || !locked.host_id) {
          throw new ConflictError(`instance ${instance.id} is ${locked?.state}: only a running or stopped instance is resized`);
        }
        const from = sizeOfRow(locked);
        const to = targetSize(from, parsed.data);
        const refusal = resizeRefusal(from, to);
        if (refusal) throw new AppError(422, 'Unprocessable Entity', `cannot resize: ${refusal.message}`, { errors: [refusal] });
        // The owner's quota for the growth, under the grant's lock, before the row holds it.
        await reserveQuota(trx, user, locked.zone_id, {
          vcpus: Math.max(0, to.vcpus - from.vcpus), memoryMb: Math.max(0, to.memoryMb - from.memoryMb), diskGb: Math.max(0, to.diskGb - from.diskGb),
        });
        prior = locked.state as 'running' | 'stopped';
        const inPlace = planResize(locked.kind, prior, from, to, { maxVcpus: locked.max_vcpus ?? null, maxMemoryMb: locked.max_memory_mb ?? null });
        ({ plan } = await claimResize(trx, locked, to, {
          ratios: placementRatios(config), plan: inPlace, headroom: config.vmResizeHeadroom,
          allowMigrate: parsed.data.allowMigrate === true, liveSeconds: hostLiveSeconds(config),
        }));
        const sequence = await nextSequence(trx, { instance_id: instance.id }, 'resize');
        return {
          priorState: prior, sequence,
          body: (op) => ({
            instance: instanceView({ ...locked, state: 'resizing' }),
            resize: { plan, detail: PLAN_DETAIL[plan], from, to },
            operation: acceptedOperation(config, op, 'resize', { instanceId: instance.id }, user.id),
          }),
        };
      },
      input: ({ operationId }) => ({ operationId, instanceId: instance.id, plan, prior, hostScheduleToStartSeconds: config.hostScheduleToStartSeconds }),
    });
    reply(res, answer);
  }));

  return router;
}
