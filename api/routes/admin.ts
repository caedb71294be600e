import { Router, type Request } from 'express';
import { asyncRoute } from '../async-route';
import { requireAdmin } from '../auth';
import { parse } from '../problem';
import {
  addressesQuery, createPoolBody, createUserBody, createZoneBody, grantBody, pageQuery, growPoolBody, patchHostBody, patchZoneBody,
  reserveAddressBody, uuidParam,
} from '../schemas';
import { hostView } from '../views';
import type { Deps } from '../start-operation';
import { createUser, getUser, issueToken, listTokens, listUsers, revokeToken } from '../../db/users';
import { listGrants, putGrant } from '../../db/grants';
import { type PoolRow, addPool, getPool, getZone, growPool, listAddresses, listPools, setAddressReserved, insertZone, setAutoFailover } from '../../db/zones';
import { getHost, setFenceCommand, setHostState } from '../../db/hosts';
import { listEvents } from '../../db/reconcile';
import { AppError, ConflictError, NotFoundError, ValidationError, isUniqueViolation } from '../../lib/errors';
import { inCidr, parseCidr } from '../../lib/net';


// Users, tokens, grants, zones, pools and hosts: every route here is admin only.
export function adminRoutes({ db, tokens }: Deps): Router {
  const router = Router();
  const userOr404 = async (req: Request) => {
    const id = req.params.id;
    const user = uuidParam.safeParse(id).success ? await getUser(db, id) : undefined;
    if (!user) throw new NotFoundError(`user ${id} not found`);
    return user;
  };
  const zoneOr404 = async (id: string) => {
    const zone = await getZone(db, id);
    if (!zone) throw new NotFoundError(`zone ${id} not found`);
    return zone;
  };
  const poolOr404 = async (id: string) => {
    const pool = uuidParam.safeParse(id).success ? await getPool(db, id) : undefined;
    if (!pool) throw new NotFoundError(`pool ${id} not found`);
    return pool;
  };
  const poolView = (p: PoolRow) => ({ id: p.id, zone: p.zone_id, firstIp: p.first_ip, lastIp: p.last_ip, state: p.state });

  router.get('/v1/users', asyncRoute(async (req, res) => {
    requireAdmin(req);
    res.json(await listUsers(db, parse(pageQuery, req.query)));
  }));
  router.post('/v1/users', asyncRoute(async (req, res) => {
    requireAdmin(req);
    const body = parse(createUserBody, req.body);
    try {
      res.status(201).json(await createUser(db, body.name, body.role));
    } catch (err) {
      if (isUniqueViolation(err)) throw new ConflictError(`a user named ${body.name} exists`);
      throw err;
    }
  }));
  router.get('/v1/users/:id', asyncRoute(async (req, res) => {
    requireAdmin(req);
    const user = await userOr404(req);
    res.json(user);
  }));
  router.get('/v1/users/:id/tokens', asyncRoute(async (req, res) => {
    requireAdmin(req);
    const user = await userOr404(req);
    res.json(await listTokens(db, user.id, parse(pageQuery, req.query)));
  }));
  router.get('/v1/users/:id/grants', asyncRoute(async (req, res) => {
    requireAdmin(req);
    const user = await userOr404(req);
    res.json(await listGrants(db, user.id, parse(pageQuery, req.query)));
  }));
  router.post('/v1/users/:id/tokens', asyncRoute(async (req, res) => {
    requireAdmin(req);
    const user = await userOr404(req);
    if (req.body !== undefined && Object.keys(req.body ?? {}).length > 0) throw new ValidationError('no body is expected', [{ path: '(body)', message: 'must be empty' }]);
    res.status(201).json(await issueToken(db, user.id));
  }));
  router.delete('/v1/users/:id/tokens/:tokenId', asyncRoute(async (req, res) => {
    requireAdmin(req);
    const user = await userOr404(req);
    const revoked = uuidParam.safeParse(req.params.tokenId).success ? await revokeToken(db, user.id, req.params.tokenId) : null;
    if (!revoked) throw new NotFoundError(`token ${req.params.tokenId} not found or already revoked`);
    // Other API processes forget it when the revocation's announcement reaches them; this one, before it answers.
    tokens?.revoked(revoked);
    res.status(204).end();
  }));
  router.put('/v1/users/:id/grants/:zone', asyncRoute(async (req, res) => {
    requireAdmin(req);
    const user = await userOr404(req);
    const zone = await zoneOr404(req.params.zone);
    const body = parse(grantBody, req.body);
    await putGrant(db, user.id, zone.id, body);
    res.json({ zone: zone.id, ...body });
  }));

  router.post('/v1/zones', asyncRoute(async (req, res) => {
    requireAdmin(req);
    const body = parse(createZoneBody, req.body);
    try { parseCidr(body.subnet); } catch { throw new ValidationError('bad subnet', [{ path: 'subnet', message: 'must be an IPv4 CIDR between /8 and /30' }]); }
    if (!inCidr(body.gateway, body.subnet)) {
      throw new ValidationError('the gateway must be a host address of the subnet', [{ path: 'gateway', message: `not inside ${body.subnet}` }]);
    }
    const { conflict } = await insertZone(db, body);
    if (conflict) throw new ConflictError(conflict);
    res.status(201).json(body);
  }));
  router.get('/v1/zones/:id/pools', asyncRoute(async (req, res) => {
    requireAdmin(req);
    const zone = await zoneOr404(req.params.id);
    res.json(await listPools(db, zone.id, parse(pageQuery, req.query), poolView));
  }));
  router.post('/v1/zones/:id/pools', asyncRoute(async (req, res) => {
    requireAdmin(req);
    const zone = await zoneOr404(req.params.id);
    const body = parse(createPoolBody, req.body);
    const outside = (body.reserved ?? []).find((ip) => !inCidr(ip, zone.subnet));
    if (outside) throw new ValidationError(`reserved address ${outside} is not in ${zone.subnet}`, [{ path: 'reserved', message: 'outside the zone' }]);
    const id = await addPool(db, zone, body.firstIp, body.lastIp, body.reserved);
    res.status(201).json(poolView((await getPool(db, id))!));
  }));
  router.patch('/v1/pools/:id', asyncRoute(async (req, res) => {
    requireAdmin(req);
    const pool = await poolOr404(req.params.id);
    const body = parse(growPoolBody, req.body);
    const zone = (await getZone(db, pool.zone_id))!;
    const added = await growPool(db, zone, pool, body.firstIp, body.lastIp);
    res.json({ ...poolView((await getPool(db, pool.id))!), added });
  }));
  router.get('/v1/pools/:id/addresses', asyncRoute(async (req, res) => {
    requireAdmin(req);
    const pool = await poolOr404(req.params.id);
    const { state, ...page } = parse(addressesQuery, req.query);
    res.json(await listAddresses(db, pool.id, state, page));
  }));
  router.put('/v1/pools/:id/addresses/:address', asyncRoute(async (req, res) => {
    requireAdmin(req);
    const pool = await poolOr404(req.params.id);
    const body = parse(reserveAddressBody, req.body);
    if (!(await setAddressReserved(db, pool.id, req.params.address, body.reserved))) {
      throw new ConflictError(`address ${req.params.address} is not ${body.reserved ? 'free' : 'reserved'} in this pool`);
    }
    res.json({ address: req.params.address, state: body.reserved ? 'reserved' : 'free' });
  }));

  router.get('/v1/hosts/:id/events', asyncRoute(async (req, res) => {
    requireAdmin(req);
    const host = await getHost(db, req.params.id);
    if (!host) throw new NotFoundError(`host ${req.params.id} not found`);
    res.json(await listEvents(db, { hostId: host.id }, parse(pageQuery, req.query)));
  }));

  router.patch('/v1/hosts/:id', asyncRoute(async (req, res) => {
    requireAdmin(req);
    const host = await getHost(db, req.params.id);
    if (!host) throw new NotFoundError(`host ${req.params.id} not found`);
    const body = parse(patchHostBody, req.body);
    if (body.state !== undefined) {
      if (host.state === 'draining' && body.state !== 'disabled' && body.state !== 'draining') {
        throw new AppError(409, 'Conflict', 'the host is being evacuated');
      }
      await setHostState(db, host.id, body.state);
    }
    if (body.fenceCommand !== undefined) await setFenceCommand(db, host.id, body.fenceCommand);
    res.json(hostView((await getHost(db, host.id))!));
  }));

  router.patch('/v1/zones/:id', asyncRoute(async (req, res) => {
    requireAdmin(req);
    const zone = await zoneOr404(req.params.id);
    const body = parse(patchZoneBody, req.body);
    await setAutoFailover(db, zone.id, body.autoFailover);
    res.json(await getZone(db, zone.id));
  }));
  return router;
}
