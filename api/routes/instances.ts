import { Router } from 'express';
import crypto from 'node:crypto';
import { asyncRoute } from '../async-route';
import { currentUser } from '../auth';
import { actionBody, createInstanceBody, instancesQuery, operationsQuery, pageQuery, uuidParam } from '../schemas';
import { parse, reply, validationError } from '../problem';
import { startOperation, type Deps } from '../start-operation';
import { acceptedOperation, instanceView, operationView } from '../views';
import { getZone } from '../../db/zones';
import { getImage, imageVisibleTo } from '../../db/images';
import { getHost } from '../../db/hosts';
import { getInstance, insertInstance, listInstances, lockInstance, transitionInstance, type InstanceRow } from '../../db/instances';
import { getOperation, listOperations, nextSequence } from '../../db/operations';
import { sshKeysNamed } from '../../db/ssh-keys';
import { authorizedKeys } from '../../lib/ssh-key';
import { maximaFor, type Maxima } from '../../lib/resize-plan';

const maximaColumns = (m: Maxima) => ({ max_vcpus: m.maxVcpus, max_memory_mb: m.maxMemoryMb });
import { listEvents } from '../../db/reconcile';
import { AppError, ConflictError, NotFoundError, ValidationError } from '../../lib/errors';
import { ACTIONS, DELETABLE_STATES } from '../../lib/instance-states';
import { inCidr } from '../../lib/net';
import type { User } from '../../db/users';
import { reserveQuota } from '../../db/grants';
import { checkPlacement } from '../../db/placement';
import { checkAddressAvailable } from '../../db/ipam';
import { hostLiveSeconds, placementRatios } from '../../lib/config';
import { batchCreate, createInstance, deleteInstance, instanceAction, repairInstance } from '../../workflows';

const notFound = (id: string) => new NotFoundError(`instance ${id} not found`);

/** Another user's instance is a 404, not a 403: its existence is not theirs to learn. */
export async function visibleInstance(deps: Deps, user: User, id: string): Promise<InstanceRow> {
  if (!uuidParam.safeParse(id).success) throw notFound(id);
  const instance = await getInstance(deps.db, id);
  if (!instance || (user.role !== 'admin' && instance.owner_id !== user.id)) throw notFound(id);
  return instance;
}

export function instanceRoutes(deps: Deps): Router {
  const { db, config } = deps;
  const router = Router();
  const accepted = (op: { id: string; workflowId: string }, type: string, instanceId: string, user: User) =>
    acceptedOperation(config, op, type, { instanceId }, user.id);

  router.post('/v1/instances', asyncRoute(async (req, res) => {
    const user = currentUser(req);
    const parsed = createInstanceBody.safeParse(req.body);
    if (!parsed.success) throw validationError(parsed.error);
    const body = parsed.data;
    const adminOnly = (['host', 'ip'] as const).filter((f) => body[f] !== undefined);
    if (adminOnly.length && user.role !== 'admin') {
      throw new AppError(403, 'Forbidden', `only an admin may name ${adminOnly.join(' and ')}`,
        { errors: adminOnly.map((path) => ({ path, message: 'admin only' })) });
    }
    const zone = await getZone(db, body.zone);
    if (!zone) throw new AppError(404, 'Not Found', `zone ${body.zone} not found`, { errors: [{ path: 'zone', message: 'unknown zone' }] });
    const found = await getImage(db, body.image);
    const image = found && imageVisibleTo(found, user) ? found : undefined;
    if (!image) throw new AppError(404, 'Not Found', `image ${body.image} not found`, { errors: [{ path: 'image', message: 'unknown image' }] });
    const wanted = body.kind === 'docker' ? 'docker' : 'tgz';
    if (image.kind !== wanted || image.state !== 'ready') {
      throw new ValidationError(`image ${image.name} is a ${image.kind} image; a ${body.kind} instance needs a ready ${wanted} image`,
        [{ path: 'image', message: `must be a ${wanted} image` }]);
    }
    if (body.kind === 'kvm' && !image.boot?.kernel) {
      throw new ValidationError(`image ${image.name} carries no kernel: a VM boots from a template with /boot/vmlinuz and an initrd`,
        [{ path: 'image', message: 'has no kernel' }]);
    }
    const minDiskGb = body.kind === 'kvm' ? Math.max(1, Math.ceil(Number(image.size_bytes ?? 0) / 2 ** 30)) : 1;
    const diskGb = body.diskGb ?? minDiskGb;
    if (diskGb < minDiskGb) {
      throw new ValidationError(`diskGb ${diskGb} is below the image's ${minDiskGb} GB`, [{ path: 'diskGb', message: `must be at least ${minDiskGb}` }]);
    }
    if (body.ip && !inCidr(body.ip, zone.subnet)) {
      throw new ValidationError(`address ${body.ip} is not in zone ${zone.id} (${zone.subnet})`, [{ path: 'ip', message: 'not in the zone subnet' }]);
    }
    if (body.host) {
      const host = await getHost(db, body.host);
      if (!host || host.zone_id !== zone.id) {
        throw new ValidationError(`host ${body.host} is not in zone ${zone.id}`, [{ path: 'host', message: 'not a host of the zone' }]);
      }
    }
    let keys: string | null = null;
    if (body.keys) {
      const { found, missing } = await sshKeysNamed(db, user.id, body.keys);
      if (missing.length) throw new ValidationError(`no key of yours named ${missing.join(', ')}`, [{ path: 'keys', message: `unknown: ${missing.join(', ')}` }]);
      keys = authorizedKeys(found);
    }
    const intentOf = (id: string, name: string, app: string | null) => ({
      id, name, owner_id: user.id, zone_id: zone.id, kind: body.kind, app, image_id: image.id, vcpus: body.vcpus, memory_mb: body.memoryMb,
      disk_gb: diskGb, requested_host_id: body.host ?? null, requested_ip: body.ip ?? null, authorized_keys: keys,
      ...maximaColumns(maximaFor(body.kind, { vcpus: body.vcpus, memoryMb: body.memoryMb }, config.vmResizeHeadroom)),
    });
    if (body.count !== undefined) {
      // The members spread over the zone's hosts by app: their own, or the batch's name.
      const n = body.count;
      const intents = Array.from({ length: n }, (_, i) => intentOf(crypto.randomUUID(), `${body.name}-${i + 1}`, body.app ?? body.name));
      const answer = await startOperation(deps, {
        userId: user.id, idempotencyKey: req.header('idempotency-key'), requestFingerprint: ['create', body],
        type: 'batch-create', workflow: batchCreate, workflowId: ({ operationId }) => `batch-${operationId}`, zone: zone.id,
        write: async (trx) => {
          // The quota for all n at once, then the early answers for the first and for n addresses.
          await reserveQuota(trx, user, zone.id, { instances: n, vcpus: body.vcpus * n, memoryMb: body.memoryMb * n, diskGb: diskGb * n });
          await checkPlacement(trx, intents[0] as InstanceRow, placementRatios(config), hostLiveSeconds(config));
          await checkAddressAvailable(trx, zone.id, null, n);
          const rows: InstanceRow[] = [];
          for (const intent of intents) rows.push(await insertInstance(trx, intent));
          return { body: (op) => ({ instances: rows.map((r) => instanceView(r, image.name)), operation: acceptedOperation(config, op, 'batch-create', {}, user.id) }) };
        },
        input: ({ operationId }) => ({
          operationId, members: intents.map((i) => i.id), atomic: body.atomic ?? false, concurrency: Math.min(n, config.batchConcurrency),
          requestedBy: user.id, hostScheduleToStartSeconds: config.hostScheduleToStartSeconds,
        }),
      });
      return reply(res, answer);
    }
    const instanceId = crypto.randomUUID();
    const answer = await startOperation(deps, {
      userId: user.id, idempotencyKey: req.header('idempotency-key'), requestFingerprint: ['create', body],
      type: 'create', workflow: createInstance, workflowId: () => `instance-${instanceId}-create`, zone: zone.id,
      write: async (trx) => {
        const intent = intentOf(instanceId, body.name, body.app ?? null);
        // Quota first, under the grant's row lock; then the early capacity and address answers.
        await reserveQuota(trx, user, zone.id, { instances: 1, vcpus: body.vcpus, memoryMb: body.memoryMb, diskGb });
        await checkPlacement(trx, intent as InstanceRow, placementRatios(config), hostLiveSeconds(config));
        await checkAddressAvailable(trx, zone.id, body.ip ?? null);
        const row = await insertInstance(trx, intent);
        return { instanceId, priorState: 'pending', body: (op) => ({ instance: instanceView(row, image.name), operation: accepted(op, 'create', instanceId, user) }) };
      },
      input: ({ operationId }) => ({ instanceId, operationId, hostScheduleToStartSeconds: config.hostScheduleToStartSeconds }),
    });
    reply(res, answer);
  }));

  router.get('/v1/instances', asyncRoute(async (req, res) => {
    const user = currentUser(req);
    const { all, ...page } = parse(instancesQuery, req.query);
    const filter = { ownerId: user.role === 'admin' ? undefined : user.id, includeDeleted: all === 'true' };
    res.json(await listInstances(db, filter, page, (r) => instanceView(r, undefined, user)));
  }));

  router.get('/v1/instances/:id', asyncRoute(async (req, res) => {
    const user = currentUser(req);
    res.json(instanceView(await visibleInstance(deps, user, req.params.id), undefined, user));
  }));

  /** What the reconciler and repairs found and did to the instance. */
  router.get('/v1/instances/:id/events', asyncRoute(async (req, res) => {
    const instance = await visibleInstance(deps, currentUser(req), req.params.id);
    res.json(await listEvents(db, { instanceId: instance.id }, parse(pageQuery, req.query)));
  }));

  router.delete('/v1/instances/:id', asyncRoute(async (req, res) => {
    const user = currentUser(req);
    const instance = await visibleInstance(deps, user, req.params.id);
    if (instance.state === 'deleted') throw notFound(instance.id);
    if (instance.state === 'repairing') return reply(res, await deleteRepairing(user, instance.id, req.header('idempotency-key')));
    const answer = await startOperation(deps, {
      userId: user.id, idempotencyKey: req.header('idempotency-key'), requestFingerprint: ['delete', instance.id],
      type: 'delete', workflow: deleteInstance, instanceId: instance.id, zone: instance.zone_id,
      // The first delete is instance-<id>-delete; a retry after a failed one gets its own id.
      workflowId: ({ sequence }) => (sequence === 1 ? `instance-${instance.id}-delete` : `instance-${instance.id}-delete-${sequence}`),
      write: async (trx) => {
        const locked = await lockInstance(trx, instance.id);
        if (!locked || locked.state === 'deleted') throw notFound(instance.id);
        if (!DELETABLE_STATES.includes(locked.state)) throw new ConflictError(`instance ${instance.id} is ${locked.state}: another operation is running`);
        const sequence = await nextSequence(trx, { instance_id: instance.id }, 'delete');
        await transitionInstance(trx, instance.id, 'deleting', { from: DELETABLE_STATES });
        return { priorState: locked.state, sequence, body: (op) => ({ instance: instanceView({ ...locked, state: 'deleting' }), operation: accepted(op, 'delete', instance.id, user) }) };
      },
      input: ({ operationId }) => ({ instanceId: instance.id, operationId, hostScheduleToStartSeconds: config.hostScheduleToStartSeconds }),
    });
    reply(res, answer);
  }));

  /**
   * A repairing instance is deleted by its repair: the repair is told to end it deleted (and started,
   * if none is running), so its address is still only freed once its copies are gone.
   */
  async function deleteRepairing(user: User, instanceId: string, idempotencyKey: string | undefined) {
    const running = await db.transaction(async (trx) => {
      await trx('instances').where({ id: instanceId, state: 'repairing' }).update({ repair_to: 'deleted' });
      return trx('operations').where({ instance_id: instanceId, state: 'running' }).first();
    });
    const instance = (await getInstance(db, instanceId))!;
    if (running) return { status: 202, body: { instance: instanceView(instance), operation: operationView(running, config.temporalUiUrl, config.temporalNamespace) } };
    return startOperation(deps, {
      userId: user.id, idempotencyKey, requestFingerprint: ['delete', instanceId],
      type: 'repair', workflow: repairInstance, instanceId, zone: instance.zone_id,
      workflowId: ({ sequence }) => `instance-${instanceId}-repair-${sequence}`,
      write: async (trx) => {
        const locked = await lockInstance(trx, instanceId);
        if (locked?.state !== 'repairing') throw new ConflictError(`instance ${instanceId} is ${locked?.state}`);
        const sequence = await nextSequence(trx, { instance_id: instanceId }, 'repair');
        return { priorState: 'repairing', sequence, body: (op) => ({ instance: instanceView(locked), operation: accepted(op, 'repair', instanceId, user) }) };
      },
      input: ({ operationId }) => ({ operationId, instanceId }),
    });
  }

  router.post('/v1/instances/:id/actions', asyncRoute(async (req, res) => {
    const user = currentUser(req);
    const instance = await visibleInstance(deps, user, req.params.id);
    const parsed = actionBody.safeParse(req.body);
    if (!parsed.success) throw validationError(parsed.error);
    const { action } = parsed.data;
    let from = instance.state;
    const answer = await startOperation(deps, {
      userId: user.id, idempotencyKey: req.header('idempotency-key'), requestFingerprint: ['action', instance.id, action],
      type: action, workflow: instanceAction, workflowId: ({ sequence }) => `instance-${instance.id}-${action}-${sequence}`, instanceId: instance.id, zone: instance.zone_id,
      write: async (trx) => {
        const locked = await lockInstance(trx, instance.id);
        if (!locked || !(ACTIONS[action].from as readonly string[]).includes(locked.state)) throw new ConflictError(`instance ${instance.id} is ${locked?.state}: it cannot ${action}`);
        from = locked.state;
        const sequence = await nextSequence(trx, { instance_id: instance.id }, action);
        return { priorState: locked.state, sequence, body: (op) => ({ instance: instanceView(locked), operation: accepted(op, action, instance.id, user) }) };
      },
      input: ({ operationId }) => ({ operationId, instanceId: instance.id, action, from }),
    });
    reply(res, answer);
  }));

  /** Newest first: all of them for an admin; for a user, those they asked for and those on their instances. */
  router.get('/v1/operations', asyncRoute(async (req, res) => {
    const user = currentUser(req);
    const { instance, state, type, ...page } = parse(operationsQuery, req.query);
    const filter = { visibleTo: user.role === 'admin' ? undefined : user.id, instanceId: instance, state, type };
    res.json(await listOperations(db, filter, page, (o) => operationView(o, config.temporalUiUrl, config.temporalNamespace, user)));
  }));

  router.get('/v1/operations/:id', asyncRoute(async (req, res) => {
    const user = currentUser(req);
    const id = req.params.id;
    const op = uuidParam.safeParse(id).success ? await getOperation(db, id) : undefined;
    let mine = op !== undefined && (user.role === 'admin' || op.requested_by === user.id);
    if (op && !mine && op.instance_id) mine = (await getInstance(db, op.instance_id))?.owner_id === user.id;
    if (!op || !mine) throw new NotFoundError(`operation ${id} not found`);
    res.json(operationView(op, config.temporalUiUrl, config.temporalNamespace, user));
  }));

  return router;
}
