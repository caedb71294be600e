import knex from 'knex';
import { createApp } from '../../api/app';
import { listRoutes } from '../../api/allowed-methods';
import { openapi } from '../../api/openapi';
import { ROUTES } from '../../api/contract/routes';
import { loadConfig } from '../../lib/config';
import { createLogger } from '../../lib/logger';

// The OpenAPI document is generated from the route list (api/contract/routes.ts): this checks that the list
// and the express app have the same routes, so nothing the API answers is missing from the document.
describe('the OpenAPI document and the express app', () => {
  const db = knex({ client: 'pg' });
  afterAll(() => db.destroy());
  const app = createApp({ db, starter: {} as never, config: loadConfig() }, createLogger('contract-test', 'silent'));
  const asOpenApi = (p: string) => p.replace(/:(\w+)/g, '{$1}');
  const served = listRoutes(app).map((r) => `${r.method} ${asOpenApi(r.path)}`).filter((r) => !r.includes('/docs')).sort();
  const documented = Object.entries(openapi.paths ?? {}).flatMap(([p, item]) =>
    Object.keys(item as object).filter((m) => m !== 'parameters').map((m) => `${m} ${p}`)).sort();

  test('every route the app serves is documented, and nothing else', () => {
    expect(served.length).toBeGreaterThan(50);
    expect(documented).toEqual(served);
    expect(ROUTES.length).toBe(served.length);
  });

  test('each operation states its security, its problems and its request from the validators', () => {
    const doc = openapi as any;
    const resize = doc.paths['/v1/instances/{id}/resize'].post;
    expect(resize.security).toEqual([{ bearer: [] }]);
    expect(resize.requestBody.content['application/json'].schema.properties.allowMigrate).toEqual({ type: 'boolean' });
    expect(resize.requestBody.content['application/json'].schema.additionalProperties).toBe(false);
    expect(Object.keys(resize.responses)).toEqual(expect.arrayContaining(['202', '400', '401', '404', '405', '409', '422']));
    expect(doc.paths['/v1/hosts'].get.responses['403']).toBeDefined();
    expect(doc.paths['/healthz'].get.security).toBeUndefined();
    const create = doc.paths['/v1/instances'].post.requestBody.content['application/json'].schema;
    expect(create.required).toEqual(expect.arrayContaining(['name', 'zone', 'kind', 'image', 'vcpus', 'memoryMb']));
    expect(doc.paths['/v1/instances'].get.parameters.map((p: { name: string }) => p.name)).toEqual(expect.arrayContaining(['limit', 'cursor', 'all']));
    expect(doc.components.schemas.Instance.properties.ip.type).toEqual(['string', 'null']);
  });
});
