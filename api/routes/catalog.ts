import { Router } from 'express';
import { asyncRoute } from '../async-route';
import { currentUser, requireAdmin } from '../auth';
import { hostView, imageView } from '../views';
import { parse } from '../problem';
import { imagesQuery, pageQuery } from '../schemas';
import { listZones } from '../../db/zones';
import { listImages } from '../../db/images';
import { listHosts } from '../../db/hosts';
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
  router.get('/v1/hosts', asyncRoute(async (req, res) => {
    requireAdmin(req);
    res.json(await listHosts(db, parse(pageQuery, req.query), hostView));
  }));
  return router;
}
