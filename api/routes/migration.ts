import { Router } from 'express';
import crypto from 'node:crypto';
import { asyncRoute } from '../async-route';
import { currentUser, requireAdmin } from '../auth';
import { parse, reply, validationError } from '../problem';
import { emptyBody, evacuateBody, migrateBody, pageQuery, restoreBody, uuidParam } from '../schemas';
import { startOperation, type Deps } from '../start-operation';
import { acceptedOperation, hostView, instanceView } from '../views';
import { visibleInstance } from './instances';
import { getSnapshot, insertSnapshot, pageSnapshots, markSnapshot, retireSnapshot, snapshotView } from '../../db/snapshots';
import { reserveQuota } from '../../db/grants';
import { getHost, setHostState } from '../../db/hosts';
import { lockInstance } from '../../db/instances';
import { nextSequence } from '../../db/operations';
import { MOVABLE_STATES } from '../../lib/instance-states';
import { evacuateHost, migrateInstance, restoreHost, snapshotInstance } from '../../workflows';
import { hostFacts, markFenced } from '../../db/fencing';
import { hostLiveSeconds } from '../../lib/config';
import type { Knex } from 'knex';
import { AppError, ConflictError, NotFoundError, ValidationError } from '../../lib/errors';
import { DirImageStore } from '../../images/image-store';
import { RegistryClient } from '../../images/registry';
import { deleteSnapshotData } from '../../images/snapshot-data';

const runningOp = acceptedOperation;

// Snapshots, migrate, evacuate.
export function migrationRoutes(deps: Deps): Router {
  const { db, config } = deps;
  const router = Router();
  const store = new DirImageStore(config.imageStoreDir);
  const registry = new RegistryClient(config.registry);

  router.get('/v1/instances/:id/snapshots', asyncRoute(async (req, res) => {
    const instance = await visibleInstance(deps, currentUser(req), req.params.id);
    res.json(await pageSnapshots(db, instance.id, parse(pageQuery, req.query), snapshotView));
  }));

  router.post('/v1/instances/:id/snapshots', asyncRoute(async (req, res) => {
    const user = currentUser(req);
    const instance = await visibleInstance(deps, user, req.params.id);
    const body = emptyBody.safeParse(req.body ?? {});
    if (!body.success) throw validationError(body.error);
    const snapshotId = crypto.randomUUID();
    const answer = await startOperation(deps, {
      userId: user.id, idempotencyKey: req.header('idempotency-key'), requestFingerprint: ['snapshot', instance.id],
      type: 'snapshot', workflow: snapshotInstance, workflowId: () => `snapshot-${snapshotId}`, instanceId: instance.id, zone: instance.zone_id,
      write: async (trx) => {
        const locked = await lockInstance(trx, instance.id);
        if (!locked || !MOVABLE_STATES.includes(locked.state) || !locked.host_id) throw new ConflictError(`instance ${instance.id} is ${locked?.state}: only a running or stopped instance has a snapshot`);
        // The owner's snapshot limits, under the grant's lock; the row is written here so that a
        // concurrent request counts it (the workflow's own insert of it then changes nothing).
        await reserveQuota(trx, user, locked.zone_id, { snapshots: 1, snapshotGb: locked.disk_gb });
        await insertSnapshot(trx, { id: snapshotId, instanceId: locked.id, kind: locked.kind });
        return { priorState: locked.state, body: (op) => ({ snapshot: { id: snapshotId, instanceId: instance.id, state: 'pending' }, operation: runningOp(config, op, 'snapshot', { instanceId: instance.id }, user.id) }) };
      },
      input: ({ operationId }) => ({ operationId, instanceId: instance.id, snapshotId, hostScheduleToStartSeconds: config.hostScheduleToStartSeconds }),
    });
    reply(res, answer);
  }));

  router.delete('/v1/instances/:id/snapshots/:snapshotId', asyncRoute(async (req, res) => {
    const instance = await visibleInstance(deps, currentUser(req), req.params.id);
    const snapshot = uuidParam.safeParse(req.params.snapshotId).success ? await getSnapshot(db, req.params.snapshotId) : undefined;
    if (!snapshot || snapshot.instance_id !== instance.id || snapshot.state === 'deleted') throw new NotFoundError(`snapshot ${req.params.snapshotId} not found`);
    if (snapshot.state === 'pending') throw new ConflictError('the snapshot is still being made');
    if (snapshot.state === 'ready') {
      // Taken like an operation takes the instance: never while a migrate may restore from it.
      const { busyWith } = await db.transaction((trx) => retireSnapshot(trx, instance.id, snapshot.id));
      if (busyWith) throw new ConflictError(`an operation runs on the instance (${busyWith}): its snapshots are kept until it ends`);
    }
    await deleteSnapshotData(snapshot, registry, store);
    if (snapshot.state !== 'ready') await markSnapshot(db, snapshot.id, { state: 'deleted' });
    res.status(204).end();
  }));

  router.post('/v1/instances/:id/migrate', asyncRoute(async (req, res) => {
    const user = currentUser(req);
    const instance = await visibleInstance(deps, user, req.params.id);
    const parsed = migrateBody.safeParse(req.body ?? {});
    if (!parsed.success) throw validationError(parsed.error);
    const body = parsed.data;
    if (body.host !== undefined && user.role !== 'admin') {
      throw new AppError(403, 'Forbidden', 'only an admin may name a host', { errors: [{ path: 'host', message: 'admin only' }] });
    }
    if (body.host !== undefined) {
      const host = await getHost(db, body.host);
      if (!host || host.zone_id !== instance.zone_id) throw new ValidationError(`host ${body.host} is not in zone ${instance.zone_id}`, [{ path: 'host', message: 'not a host of the zone' }]);
      if (host.id === instance.host_id) throw new ValidationError('the instance is already on that host', [{ path: 'host', message: 'is the source' }]);
      if (host.state !== 'enabled') throw new AppError(422, 'Unprocessable Entity', `host ${host.id} is ${host.state}`, { errors: [{ path: 'host', message: host.state }] });
    }
    const snapshot = body.snapshot ?? 'latest';
    if (snapshot !== 'latest' && snapshot !== 'none') {
      const s = await getSnapshot(db, snapshot);
      if (!s || s.instance_id !== instance.id || s.state !== 'ready') {
        throw new ValidationError(`snapshot ${snapshot} is not a ready snapshot of this instance`, [{ path: 'snapshot', message: 'not a ready snapshot of this instance' }]);
      }
    }
    const answer = await startOperation(deps, {
      userId: user.id, idempotencyKey: req.header('idempotency-key'), requestFingerprint: ['migrate', instance.id, body],
      type: 'migrate', workflow: migrateInstance, workflowId: ({ sequence }) => `instance-${instance.id}-migrate-${sequence}`, instanceId: instance.id, zone: instance.zone_id,
      write: async (trx) => {
        const locked = await lockInstance(trx, instance.id);
        if (!locked || !MOVABLE_STATES.includes(locked.state) || !locked.host_id) throw new ConflictError(`instance ${instance.id} is ${locked?.state}: only a running or stopped instance moves`);
        const sequence = await nextSequence(trx, { instance_id: instance.id }, 'migrate');
        return { priorState: locked.state, sequence, body: (op) => ({ instance: instanceView(locked), operation: runningOp(config, op, 'migrate', { instanceId: instance.id }, user.id) }) };
      },
      input: ({ operationId }) => ({ operationId, instanceId: instance.id, snapshot, host: body.host ?? null, sourceScheduleToStartSeconds: config.sourceScheduleToStartSeconds }),
    });
    reply(res, answer);
  }));

  router.post('/v1/hosts/:id/evacuate', asyncRoute(async (req, res) => {
    const user = requireAdmin(req);
    const host = await getHost(db, req.params.id);
    if (!host) throw new NotFoundError(`host ${req.params.id} not found`);
    const parsed = evacuateBody.safeParse(req.body ?? {});
    if (!parsed.success) throw validationError(parsed.error);
    const answer = await startOperation(deps, {
      userId: user.id, idempotencyKey: req.header('idempotency-key'), requestFingerprint: ['evacuate', host.id, parsed.data],
      type: 'evacuate', workflow: evacuateHost, workflowId: ({ sequence }) => `host-${host.id}-evacuate-${sequence}`,
      write: async (trx) => {
        const locked = await trx('hosts').where({ id: host.id }).forUpdate().first();
        if (locked.state === 'draining') throw new ConflictError(`host ${host.id} is already being evacuated`);
        await requireFencedIfDead(trx, host.id, parsed.data.fenced === true);
        const sequence = await nextSequence(trx, { host_id: host.id }, 'evacuate');
        await setHostState(trx, host.id, 'draining');
        return { hostId: host.id, priorState: locked.state, sequence, body: (op) => ({ host: hostView({ ...host, state: 'draining' }), operation: runningOp(config, op, 'evacuate', { hostId: host.id }, user.id) }) };
      },
      input: ({ operationId }) => ({
        operationId, hostId: host.id, concurrency: parsed.data.concurrency ?? config.evacuateConcurrency, requestedBy: user.id,
        sourceScheduleToStartSeconds: config.sourceScheduleToStartSeconds, busySourceWaitSeconds: config.busySourceWaitSeconds,
      }),
    });
    reply(res, answer);
  }));

  /**
   * Evacuating a dead host rebuilds its instances elsewhere with the same addresses: only when it
   * cannot run them any more. It has a fence command (the evacuation runs it first), or its zone has
   * automatic failover (its watchdog fences it before it is declared dead), or the admin says so now.
   */
  async function requireFencedIfDead(trx: Knex.Transaction, hostId: string, saidFenced: boolean): Promise<void> {
    if (saidFenced) return markFenced(trx, hostId, 'admin', 'the admin said so when evacuating it');
    const facts = (await hostFacts(trx, hostId, hostLiveSeconds(config)))!;
    if ((facts.heartbeatAgeSeconds ?? Infinity) < config.deadAfterSeconds || facts.fencedSinceHeard) return;
    if (facts.fenceCommand || facts.autoFailover) return;
    throw new ConflictError(`host ${hostId} has not been heard from for ${facts.heartbeatAgeSeconds === null ? 'ever' : `${Math.round(facts.heartbeatAgeSeconds)} s`} and is not fenced: its instances may still be running, and rebuilding them elsewhere would put their addresses on the wire twice. Power it off and evacuate it with {"fenced": true}, give it a fence command (PATCH /v1/hosts/${hostId} {"fenceCommand": [...]}), or turn on automatic failover in zone ${facts.zoneId}.`, { errors: [{ path: 'fenced', message: 'the host is dead and not fenced' }] });
  }

  router.post('/v1/hosts/:id/restore', asyncRoute(async (req, res) => {
    const user = requireAdmin(req);
    const host = await getHost(db, req.params.id);
    if (!host) throw new NotFoundError(`host ${req.params.id} not found`);
    const parsed = restoreBody.safeParse(req.body ?? {});
    if (!parsed.success) throw validationError(parsed.error);
    const answer = await startOperation(deps, {
      userId: user.id, idempotencyKey: req.header('idempotency-key'), requestFingerprint: ['restore', host.id, parsed.data],
      type: 'restore', workflow: restoreHost, workflowId: ({ sequence }) => `host-${host.id}-restore-${sequence}`,
      write: async (trx) => {
        const locked = await trx('hosts').where({ id: host.id }).forUpdate().first();
        if (locked.state === 'draining') throw new ConflictError(`host ${host.id} is being evacuated`);
        const facts = (await hostFacts(trx, host.id, hostLiveSeconds(config)))!;
        if ((facts.heartbeatAgeSeconds ?? Infinity) > hostLiveSeconds(config)) throw new ConflictError(`host ${host.id} is not answering: nothing can be moved back to it`);
        if (await trx('operations').where({ host_id: host.id, type: 'restore', state: 'running' }).first('id')) throw new ConflictError(`host ${host.id} is already being restored`);
        const sequence = await nextSequence(trx, { host_id: host.id }, 'restore');
        return { hostId: host.id, priorState: locked.state, sequence, body: (op) => ({ host: hostView(host), operation: runningOp(config, op, 'restore', { hostId: host.id }, user.id) }) };
      },
      input: ({ operationId }) => ({
        operationId, hostId: host.id, concurrency: parsed.data.concurrency ?? config.evacuateConcurrency, requestedBy: user.id,
      }),
    });
    reply(res, answer);
  }));

  return router;
}
