import path from 'node:path';
import express from 'express';
import client from 'prom-client';
import swaggerUiDist from 'swagger-ui-dist';
import { authenticate, requireAdmin } from './auth';
import { errorHandler, sendProblem } from './problem';
import { instanceRoutes } from './routes/instances';
import { catalogRoutes } from './routes/catalog';
import { adminRoutes } from './routes/admin';
import { ipHealthRoutes } from './routes/ip-health';
import { storageGcRoutes } from './routes/storage-gc';
import { monitoringRoutes } from './routes/monitoring';
import { imageRoutes } from './routes/images';
import { resizeRoutes } from './routes/resize';
import { keyRoutes } from './routes/keys';
import { migrationRoutes } from './routes/migration';
import { openapi } from './openapi';
import { allowedMethods } from './allowed-methods';
import { auditTrail } from './audit-trail';
import { idempotentReplay } from './idempotent-replay';
import { auditRoutes } from './routes/audit';
import type { Deps } from './start-operation';
import type { Logger } from '../lib/logger';
import { projectRoot } from '../lib/config';

const SWAGGER_INITIALIZER = `window.onload = () => {
  window.ui = SwaggerUIBundle({
    url: '/openapi.json', dom_id: '#swagger-ui', deepLinking: true, persistAuthorization: true,
    presets: [SwaggerUIBundle.presets.apis, SwaggerUIStandalonePreset], layout: 'StandaloneLayout',
  });
};
`;

export function createApp(deps: Deps, log: Logger): express.Express {
  const app = express();
  app.disable('x-powered-by');
  const registry = new client.Registry();
  client.collectDefaultMetrics({ register: registry });
  const requests = new client.Histogram({
    name: 'vcloud_api_request_seconds', help: 'API request duration', labelNames: ['method', 'route', 'status'], registers: [registry],
  });
  app.use((req, res, next) => {
    const end = requests.startTimer();
    res.on('finish', () => end({ method: req.method, route: req.route?.path ?? 'unmatched', status: String(res.statusCode) }));
    next();
  });
  app.get('/healthz', (_req, res) => {
    deps.db.raw('select 1').then(() => res.json({ ok: true }), () => sendProblem(res, 503, 'Service Unavailable', 'database unreachable'));
  });
  app.get('/openapi.json', (_req, res) => res.json(openapi));
  // The document, browsable: Swagger UI from its npm package (no CDN), pointed at /openapi.json.
  app.get('/docs/swagger-initializer.js', (_req, res) => res.type('application/javascript').send(SWAGGER_INITIALIZER));
  app.get('/docs', (req, res, next) => (req.originalUrl.endsWith('/') ? next() : res.redirect(301, '/docs/')));
  app.use('/docs', express.static(swaggerUiDist.getAbsoluteFSPath(), { index: 'index.html', redirect: false }));
  // The web console: the static build of console/ (npm run build), which logs in with a token and calls /v1.
  app.use(express.static(path.join(projectRoot, 'dist', 'console'), { index: 'index.html', redirect: false }));
  // Not public: request rates, routes and process figures are for the platform's admins (and the
  // Prometheus they give an admin token to), not for every tenant or passer-by.
  app.get('/metrics', authenticate(deps.db, deps.tokens), (req, res, next) => {
    try {
      requireAdmin(req);
    } catch (err) {
      return next(err);
    }
    registry.metrics().then((text) => res.type(registry.contentType).send(text), next);
  });

  app.use(auditTrail(deps.db, log));
  // Who asks is known before any body is read: an anonymous request costs no parsing.
  app.use('/v1', authenticate(deps.db, deps.tokens));
  app.use(express.json({ limit: '256kb' }));
  app.use('/v1', idempotentReplay(deps));
  app.use(instanceRoutes(deps));
  app.use(catalogRoutes(deps));
  app.use(adminRoutes(deps));
  app.use(ipHealthRoutes(deps));
  app.use(storageGcRoutes(deps));
  app.use(monitoringRoutes(deps));
  app.use(imageRoutes(deps));
  app.use(migrationRoutes(deps));
  app.use(resizeRoutes(deps));
  app.use(keyRoutes(deps));
  app.use(auditRoutes(deps));
  app.use((req, res) => {
    const allow = allowedMethods(app, req.path);
    if (allow.length === 0) return sendProblem(res, 404, 'Not Found', `no route for ${req.method} ${req.path}`);
    res.setHeader('Allow', allow.join(', '));
    sendProblem(res, 405, 'Method Not Allowed', `${req.path} answers ${allow.join(', ')}, not ${req.method}`);
  });
  app.use(errorHandler(log));
  return app;
}
