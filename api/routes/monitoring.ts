import { Router } from 'express';
import { metricsQuery } from '../schemas';
import { asyncRoute } from '../async-route';
import { currentUser, requireAdmin } from '../auth';
import { parse } from '../problem';
import type { Deps } from '../start-operation';
import { visibleInstance } from './instances';
import { INSTANCE_SERIES, durationSeconds, queryRange } from '../prometheus';
import { scrapeTargets } from '../../db/monitoring';
import { getHost } from '../../db/hosts';
import { getZone } from '../../db/zones';
import { NotFoundError, ValidationError } from '../../lib/errors';

/** The window a query covers, ending now; at most Prometheus's 11,000 points per series. */
function windowOf(q: { range: string; step: string }) {
  const range = durationSeconds(q.range);
  const step = durationSeconds(q.step);
  if (step < 1 || range < step) throw new ValidationError('the step must be at least 1s and at most the range', [{ path: 'step', message: 'out of range' }]);
  if (range / step > 11_000) throw new ValidationError('at most 11000 points per series: a longer step, or a shorter range', [{ path: 'step', message: 'too many points' }]);
  const end = Math.floor(Date.now() / 1000);
  return { start: end - range, end, step };
}

/**
 * Monitoring through the API: what the agents export, as Prometheus (the one `npm run up` starts,
 * or any other) keeps it. Prometheus finds the agents here; users read their instances' series;
 * admins read hosts' and zones' usage. A Prometheus that is down or slow is a 503 within seconds.
 */
export function monitoringRoutes(deps: Deps): Router {
  const { db, config } = deps;
  const router = Router();

  /** Prometheus HTTP service discovery (`http_sd_configs`, with an admin token as its bearer). */
  router.get('/v1/monitoring/targets', asyncRoute(async (req, res) => {
    requireAdmin(req);
    res.json(await scrapeTargets(db));
  }));

  router.get('/v1/instances/:id/metrics', asyncRoute(async (req, res) => {
    const instance = await visibleInstance(deps, currentUser(req), req.params.id);
    const q = parse(metricsQuery, req.query);
    const window = windowOf(q);
    const entries = await Promise.all(Object.entries(INSTANCE_SERIES).map(async ([key, metric]) =>
      [key, await queryRange(config.prometheusUrl, `max(${metric}{instance_id="${instance.id}"})`, window)] as const));
    res.json({ instanceId: instance.id, range: q.range, step: q.step, series: Object.fromEntries(entries) });
  }));

  /** Admins: the sums over a host's or a zone's instances (CPU as the sum of their percentages). */
  const usage = (label: 'host' | 'zone', value: string, window: ReturnType<typeof windowOf>) =>
    Promise.all(Object.entries(INSTANCE_SERIES).map(async ([key, metric]) =>
      [key === 'cpuPercent' ? 'cpuPercentSum' : key, await queryRange(config.prometheusUrl, `sum(${metric}{${label}="${value}"})`, window)] as const));

  const scopes = [
    { path: 'hosts', label: 'host', key: 'hostId', exists: async (id: string) => Boolean(await getHost(db, id)) },
    { path: 'zones', label: 'zone', key: 'zone', exists: async (id: string) => Boolean(await getZone(db, id)) },
  ] as const;
  for (const scope of scopes) {
    router.get(`/v1/${scope.path}/:id/metrics`, asyncRoute(async (req, res) => {
      requireAdmin(req);
      if (!(await scope.exists(req.params.id))) throw new NotFoundError(`${scope.label} ${req.params.id} not found`);
      const q = parse(metricsQuery, req.query);
      res.json({ [scope.key]: req.params.id, range: q.range, step: q.step, series: Object.fromEntries(await usage(scope.label, req.params.id, windowOf(q))) });
    }));
  }

  return router;
}
