import type { Knex } from 'knex';
import { adminToken, apiClient, createBody, testDb, waitForOperation, type ApiClient } from '../helpers/platform';
import { TEST_API } from '../helpers/env';
import { createUser, issueToken } from '../../db/users';

// Every bad request gets a problem+json 4xx naming the field, and writes nothing.
describe('bad input is a clear 4xx and changes nothing', () => {
  let api: ApiClient;
  let user: ApiClient;
  let db: Knex;
  const counts = async () => Object.fromEntries(await Promise.all(['instances', 'operations', 'idempotency_keys', 'ip_addresses']
    .map(async (t) => [t, Number((await db(t).count('* as n').first())!.n)])));
  const allocated = async () => Number((await db('ip_addresses').whereNot({ state: 'free' }).count('* as n').first())!.n);

  beforeAll(async () => {
    db = testDb();
    api = apiClient();
    const u = await createUser(db, 'validation-user', 'user');
    user = apiClient((await issueToken(db, u.id)).token);
  });
  afterAll(() => db.destroy());

  const cases: [string, unknown, number, string][] = [
    ['an unknown field', createBody('a1', { colour: 'red' }), 400, 'colour'],
    ['vcpus of the wrong type', createBody('a1', { vcpus: 'two' }), 400, 'vcpus'],
    ['a fractional vcpus', createBody('a1', { vcpus: 1.5 }), 400, 'vcpus'],
    ['negative memory', createBody('a1', { memoryMb: -64 }), 400, 'memoryMb'],
    ['absurd vcpus', createBody('a1', { vcpus: 100000 }), 400, 'vcpus'],
    ['absurd disk', createBody('a1', { diskGb: 10 ** 9 }), 400, 'diskGb'],
    ['a name that is not a DNS label', createBody('Web_1'), 400, 'name'],
    ['a name that is too long', createBody('a'.repeat(64)), 400, 'name'],
    ['an unknown kind', createBody('a1', { kind: 'lxc' }), 400, 'kind'],
    ['an image that is not a valid reference', createBody('a1', { image: '../../etc/passwd' }), 400, 'image'],
    ['an app that is not a DNS label', createBody('a1', { app: 'My App' }), 400, 'app'],
    ['an IP that is not an address', createBody('a1', { ip: '10.214.0.999' }), 400, 'ip'],
    ['a missing name', { ...createBody('x'), name: undefined }, 400, 'name'],
    ['an unknown zone', createBody('a1', { zone: 'atlantis' }), 404, 'zone'],
    ['an unknown image', createBody('a1', { image: 'nosuchimage' }), 404, 'image'],
    ['a docker instance from a tgz image', createBody('a1', { image: 'busybox-tgz' }), 400, 'image'],
    ['an admin-named IP outside the zone', createBody('a1', { ip: '192.0.2.10' }), 400, 'ip'],
    ['an admin-named host that does not exist', createBody('a1', { host: 'nosuchhost' }), 400, 'host'],
  ];

  test.each(cases)('%s', async (_what, body, status, path) => {
    const before = await counts();
    const allocatedBefore = await allocated();
    const res = await api.post('/v1/instances', body);
    expect(res.status).toBe(status);
    expect(res.contentType).toContain('application/problem+json');
    expect(res.body).toMatchObject({ status, title: expect.any(String), detail: expect.any(String) });
    expect(res.body.errors.map((e: { path: string }) => e.path)).toContain(path);
    expect(await counts()).toEqual(before);
    expect(await allocated()).toBe(allocatedBefore);
  });

  test('every wrong field is named at once', async () => {
    const res = await api.post('/v1/instances', { name: 'BAD', zone: 'test', kind: 'docker', image: 'busybox', vcpus: 0, memoryMb: 'lots', extra: 1 });
    expect(res.status).toBe(400);
    expect(res.body.errors.map((e: { path: string }) => e.path).sort()).toEqual(['extra', 'memoryMb', 'name', 'vcpus']);
  });

  test('a body that is not JSON, or not an object', async () => {
    const before = await counts();
    const broken = await api.raw('POST', '/v1/instances', '{"name": ', { 'content-type': 'application/json' });
    expect(broken.status).toBe(400);
    expect(broken.contentType).toContain('application/problem+json');
    expect((await api.post('/v1/instances', [1, 2])).status).toBe(400);
    expect(await counts()).toEqual(before);
  });

  test('no token, a malformed token and an unknown token are 401', async () => {
    for (const client of [apiClient(null), apiClient('short'), apiClient('vc_unknown_token_value_123456')]) {
      const res = await client.post('/v1/instances', createBody('a1'));
      expect(res.status).toBe(401);
      expect(res.contentType).toContain('application/problem+json');
      expect((await client.get('/v1/instances')).status).toBe(401);
    }
  });

  test('a user may not name a host or an IP (403), nor list hosts; nothing is written', async () => {
    const before = await counts();
    const res = await user.post('/v1/instances', createBody('a1', { host: 'test-a', ip: '10.214.0.20' }));
    expect(res.status).toBe(403);
    expect(res.body.errors.map((e: { path: string }) => e.path)).toEqual(['host', 'ip']);
    expect((await user.get('/v1/hosts')).status).toBe(403);
    expect(await counts()).toEqual(before);
  });

  test('unknown and malformed ids are 404, another user\'s instance is 404', async () => {
    expect((await api.get('/v1/instances/not-a-uuid')).status).toBe(404);
    expect((await api.get('/v1/instances/6f1c1f0e-8d7e-4c55-9a43-0a6a9c7f0e11')).status).toBe(404);
    expect((await api.del('/v1/instances/6f1c1f0e-8d7e-4c55-9a43-0a6a9c7f0e11')).status).toBe(404);
    expect((await api.get('/v1/operations/6f1c1f0e-8d7e-4c55-9a43-0a6a9c7f0e11')).status).toBe(404);
    expect((await api.get('/v1/nothing-here')).status).toBe(404);
    const [image] = await db('images').where({ name: 'busybox' }).pluck('id');
    const admin = await db('users').where({ name: 'admin' }).first();
    const id = '7f1c1f0e-8d7e-4c55-9a43-0a6a9c7f0e12';
    await db('instances').insert({ id, name: 'admins-own', owner_id: admin.id, zone_id: 'test', kind: 'docker', image_id: image, vcpus: 1, memory_mb: 64, disk_gb: 1, state: 'failed' });
    expect((await user.get(`/v1/instances/${id}`)).status).toBe(404);
    expect((await user.del(`/v1/instances/${id}`)).status).toBe(404);
    expect((await api.get(`/v1/instances/${id}`)).status).toBe(200);
    expect((await user.get('/v1/instances')).body.items).toEqual([]);
  });

  test('a bad Idempotency-Key is 400', async () => {
    const res = await api.post('/v1/instances', createBody('a1'), { 'Idempotency-Key': 'spaces are not allowed' });
    expect(res.status).toBe(400);
    expect(res.body.errors[0].path).toBe('Idempotency-Key');
  });

  test('healthz, the OpenAPI document and the read endpoints answer', async () => {
    expect((await apiClient(null).get('/healthz')).body).toEqual({ ok: true });
    const doc = (await apiClient(null).get('/openapi.json')).body;
    expect(doc.openapi).toBe('3.1.0');
    expect(Object.keys(doc.paths)).toEqual(expect.arrayContaining(['/v1/instances', '/v1/instances/{id}', '/v1/operations/{id}', '/v1/zones', '/v1/images', '/v1/hosts',
      '/v1/instances/{id}/actions', '/v1/instances/{id}/migrate', '/v1/hosts/{id}/evacuate', '/v1/images/{id}/convert', '/v1/users/{id}/grants/{zone}']));
    expect(Object.keys(doc.paths['/v1/zones'])).toEqual(['get', 'post']);
    expect((await api.get('/v1/zones')).body.items).toContainEqual(expect.objectContaining({ id: 'test', bridge: 'vctest0' }));
    expect((await api.get('/v1/images')).body.items.map((i: { name: string }) => i.name)).toEqual(expect.arrayContaining(['busybox', 'busybox-tgz']));
    const hosts = (await api.get('/v1/hosts')).body.items;
    expect(hosts).toContainEqual(expect.objectContaining({ id: 'test-a', zone: 'test', state: 'enabled', kinds: expect.arrayContaining(['docker']) }));
    expect(hosts[0].numa.nodes.length).toBeGreaterThan(0);
  });

  test('/metrics is for admins only; an anonymous request is refused before its body is read', async () => {
    expect((await apiClient(null).get('/metrics')).status).toBe(401);
    expect((await user.get('/metrics')).status).toBe(403);
    const res = await fetch(`${TEST_API}/metrics`, { headers: { authorization: `Bearer ${adminToken()}` } });
    expect(res.status).toBe(200);
    expect(await res.text()).toContain('vcloud_api_request_seconds');
    const before = await counts();
    // Malformed JSON: without a token it is a 401 (the body never parsed), with one a 400.
    const post = (headers: Record<string, string>) => fetch(`${TEST_API}/v1/instances`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: '{"name": ' });
    const anonymous = await post({});
    expect(anonymous.status).toBe(401);
    expect(anonymous.headers.get('content-type')).toMatch(/application\/problem\+json/);
    expect((await post({ authorization: `Bearer ${adminToken()}` })).status).toBe(400);
    expect(await counts()).toEqual(before);
  });

  test('a method a path does not answer is a 405 with an Allow header', async () => {
    const before = await counts();
    for (const [method, url, allow] of [
      ['DELETE', '/v1/zones', 'GET, HEAD, POST'],
      ['PUT', '/v1/instances/0f8fad5b-d9cb-469f-a165-70867728950e', 'DELETE, GET, HEAD'],
      ['PATCH', '/v1/operations/0f8fad5b-d9cb-469f-a165-70867728950e', 'GET, HEAD'],
    ] as const) {
      const res = await fetch(`${TEST_API}${url}`, { method, headers: { authorization: `Bearer ${adminToken()}` } });
      expect([url, res.status, res.headers.get('allow')]).toEqual([url, 405, allow]);
      expect(res.headers.get('content-type')).toMatch(/application\/problem\+json/);
    }
    expect((await api.raw('GET', '/v1/no-such-thing')).status).toBe(404);
    expect(await counts()).toEqual(before);
  });

  test('the audit log: every mutating request, with who, the outcome, the operation, the address; admins only; paged', async () => {
    const anonymous = await fetch(`${TEST_API}/v1/zones`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
    expect(anonymous.status).toBe(401);
    const refused = await user.post('/v1/instances', createBody('audit-1', { vcpus: 'two' }));
    expect(refused.status).toBe(400);
    const made = await api.post('/v1/instances', createBody('audit-2'));
    expect(made.status).toBe(202);
    expect((await user.get('/v1/audit')).status).toBe(403);
    expect((await api.get('/v1/audit?since=yesterday')).status).toBe(400);

    const mine = (await api.get('/v1/audit?user=validation-user&limit=5')).body.items;
    expect(mine[0]).toMatchObject({ userName: 'validation-user', method: 'POST', path: '/v1/instances', route: '/v1/instances', status: 400, operationId: null });
    expect(mine[0].remoteAddress).toMatch(/127\.0\.0\.1/);
    const adminRows = (await api.get(`/v1/audit?instance=${made.body.instance.id}`)).body.items;
    expect(adminRows).toEqual([expect.objectContaining({ method: 'POST', status: 202, instanceId: made.body.instance.id, operationId: made.body.operation.id })]);
    const all = (await api.get('/v1/audit?limit=50')).body.items;
    expect(all).toContainEqual(expect.objectContaining({ userId: null, method: 'POST', path: '/v1/zones', status: 401 }));
    // Paged newest first: the second page starts below the first's last id, no row twice.
    const page1 = (await api.get('/v1/audit?limit=2')).body;
    const page2 = (await api.get(`/v1/audit?limit=2&cursor=${page1.next}`)).body;
    expect(page2.items[0].id).toBeLessThan(page1.items[1].id);
    // Reads are not recorded.
    expect(all.some((r: { method: string }) => r.method === 'GET')).toBe(false);
    await waitForOperation(api, made.body.operation.id);
    const del = await api.del(`/v1/instances/${made.body.instance.id}`);
    expect(del.status).toBe(202);
    expect(await waitForOperation(api, del.body.operation.id)).toMatchObject({ state: 'succeeded' });
  });
});
