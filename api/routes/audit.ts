import { Router } from 'express';
import { asyncRoute } from '../async-route';
import { currentUser, requireAdmin } from '../auth';
import { parse } from '../problem';
import { auditQuery, pageQuery, uuidParam } from '../schemas';
import type { Deps } from '../start-operation';
import { visibleInstance } from './instances';
import { instanceActions, listAudit } from '../../db/audit';
import { findUserByName, getUser } from '../../db/users';

export function auditRoutes(deps: Deps): Router {
  const { db } = deps;
  const router = Router();

  /** Admins: every mutating request, newest first; `before` pages on (the last id of a page). */
  router.get('/v1/audit', asyncRoute(async (req, res) => {
    requireAdmin(req);
    const { user, instance, since, until, ...page } = parse(auditQuery, req.query);
    // A user named by id or by name; one that does not exist has no records.
    const who = user === undefined ? undefined : (uuidParam.safeParse(user).success ? await getUser(db, user) : await findUserByName(db, user));
    if (user !== undefined && !who) return res.json({ items: [], next: null });
    res.json(await listAudit(db, { userId: who?.id, instanceId: instance, since, until }, page));
  }));

  /** The instance's owner (or an admin): what was done to it, by whom, and what operators did to its workflows. */
  router.get('/v1/instances/:id/actions', asyncRoute(async (req, res) => {
    const instance = await visibleInstance(deps, currentUser(req), req.params.id);
    res.json(await instanceActions(db, instance.id, parse(pageQuery, req.query)));
  }));

  return router;
}
