import { Router } from 'express';
import { asyncRoute } from '../async-route';
import { currentUser, requireAdmin } from '../auth';
import { hostView, imageView } from '../views';
import { parse } from '../problem';
import { imagesQuery, pageQuery } from '../schemas';
import { listZones } from '../../db/zones';
import { listImages } from '../../db/images';
import { listHosts } from '../../db/hosts';
import { listGrants } from '../../db/grants';
import { MAX_PAGE_LIMIT } from '../../db/page';
import type { Deps } from '../start-operation';

export function catalogRoutes({ db }: Deps): Router {
  const router = Router();
  router.get('/v1/zones', asyncRoute(async (req, res) => {
    currentUser(req);
    res.json(await listZones(db, parse(pageQuery, req.query)));
  }));
  router.get('/v1/images', asyncRoute(async (req, res) => {
    const user = currentUser(req);
    const { mine, ...page } = parse(imagesQuery, req.query);
    res.json(await listImages(db, user, { mine: mine === 'true' }, page, (i) => imageView(i, user)));
  }));
  // Who the token is, and what each of their zone grants still allows (the console bounds a create by it).
  router.get('/v1/me', asyncRoute(async (req, res) => {
    const user = currentUser(req);
    const grants = await listGrants(db, user.id, { limit: MAX_PAGE_LIMIT });
    res.json({ user: { id: user.id, name: user.name, role: user.role }, grants: grants.items });
  }));
  router.get('/v1/hosts', asyncRoute(async (req, res) => {
    requireAdmin(req);
    res.json(await listHosts(db, parse(pageQuery, req.query), hostView));
  }));
  return router;
}
