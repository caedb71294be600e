// The API's OpenAPI 3.1 document, generated from the route list and its zod schemas (api/contract): what the
// handlers validate with is what the document says. Served at /openapi.json and browsable at /docs.
import { OpenAPIRegistry, OpenApiGeneratorV31, type RouteConfig } from '@asteasolutions/zod-to-openapi';
import { z } from './contract/zod';
import { Problem } from './contract/responses';
import { ROUTES, problemsOf, type RouteSpec } from './contract/routes';

const PROBLEM_TITLES: Record<number, string> = {
  400: 'the request is not valid: errors[] says where', 401: 'no token, or a revoked one', 403: 'for admins only',
  404: 'no such thing (or not the caller\'s)', 405: 'the path answers other methods (see Allow)', 409: 'the state forbids it now',
  413: 'the body is over the limit', 422: 'valid, but cannot be done: no room, no quota, a rule of the platform', 503: 'a service it needs is down',
};

/** Path parameters, by their names in the path; each is a string the handler checks itself (a UUID, a name). */
function pathParams(path: string): z.AnyZodObject | undefined {
  const names = [...path.matchAll(/\{(\w+)\}/g)].map((m) => m[1]);
  if (names.length === 0) return undefined;
  return z.object(Object.fromEntries(names.map((n) => [n, z.string().min(1).openapi({ description: n === 'id' ? 'an id (some routes take a name too)' : n })])));
}

function routeConfig(r: RouteSpec): RouteConfig {
  const responses: RouteConfig['responses'] = {};
  for (const [status, o] of Object.entries(r.ok)) {
    responses[status] = o.schema ? { description: o.description, content: { [o.media ?? 'application/json']: { schema: o.schema } } } : { description: o.description };
  }
  for (const status of [...problemsOf(r), 405]) {
    responses[status] = { description: PROBLEM_TITLES[status] ?? 'problem', content: { 'application/problem+json': { schema: Problem } } };
  }
  const content: Record<string, { schema: z.ZodTypeAny }> = {};
  if (r.body) content['application/json'] = { schema: r.body };
  if (r.rawBody) content[r.rawBody.media] = { schema: z.string().openapi({ format: 'binary', description: r.rawBody.description }) };
  const params = pathParams(r.path);
  return {
    method: r.method, path: r.path, summary: r.summary, tags: [tagOf(r.path)],
    ...(r.access === 'public' ? {} : { security: [{ bearer: [] }] }),
    request: {
      ...(params ? { params } : {}),
      ...(r.query ? { query: r.query } : {}),
      ...(Object.keys(content).length ? { body: { content, required: !r.rawBody && r.method !== 'delete' && !isOptionalBody(r.body) } } : {}),
    },
    responses,
  };
}

/** A body every field of which is optional (`{}` or no body is accepted). */
const isOptionalBody = (s: z.ZodTypeAny | undefined) => s !== undefined && s.safeParse({}).success;
const tagOf = (path: string) => path.split('/')[2]?.replace(/-/g, ' ') ?? 'platform';

export function buildOpenApi() {
  const registry = new OpenAPIRegistry();
  registry.registerComponent('securitySchemes', 'bearer', { type: 'http', scheme: 'bearer', description: 'a vcloud token (vc_...)' });
  for (const r of ROUTES) registry.registerPath(routeConfig(r));
  return new OpenApiGeneratorV31(registry.definitions).generateDocument({
    openapi: '3.1.0',
    info: { title: 'vcloud', version: '1.0.0', description: 'VMs and containers with fixed IPs; every operation is a Temporal workflow. Generated from the validators (api/contract).' },
  });
}

export const openapi = buildOpenApi();
