import crypto from 'node:crypto';
import sshpk from 'sshpk';
import type { Knex } from 'knex';
import { apiClient, createBody, deleteInstances, testDb, waitForOperation, type ApiAnswer, type ApiClient } from '../helpers/platform';
import { HOST_A, HOST_B, TEST_ZONE } from '../helpers/env';
import { contractChecker } from '../helpers/contract';
import { startPrometheus } from '../helpers/prometheus';
import { ROUTES } from '../../api/contract/routes';
import { createUser, issueToken } from '../../db/users';
import { run } from '../../host/run';

const BRIDGE = 'vccontract0';
const ZONE = { id: 'contract', subnet: '10.235.0.0/24', gateway: '10.235.0.1', bridge: BRIDGE };

/**
 * Every route of the generated OpenAPI document, called for real: its successes (each route at least once)
 * and its documented errors (401 on every secured route, 403 on every admin route for a user, 404 for an id
 * that names nothing, 400 for a body or query the validators refuse, 405 for a method the path does not
 * answer). Every answer's status, media type and body are checked against the document.
 */
describe('contract: every route answers as the OpenAPI document says', () => {
  let db: Knex;
  let admin: ApiClient;
  let user: ApiClient;
  const contract = contractChecker();
  const problems: string[] = [];
  const made: string[] = [];

  /** A request, its answer checked against the document; `expect` is the status the test wants. */
  async function call(api: ApiClient, method: string, url: string, expected: number, body?: unknown, headers?: Record<string, string>): Promise<ApiAnswer> {
    const res = await api.raw(method, url, body, headers);
    problems.push(...contract.check(method, url, res));
    if (res.status !== expected) problems.push(`${method} ${url}: ${res.status}, wanted ${expected} (${JSON.stringify(res.body).slice(0, 200)})`);
    return res;
  }
  const done = async (api: ApiClient, res: ApiAnswer, timeout = 180_000) => {
    const end = await waitForOperation(api, res.body.operation.id, timeout);
    problems.push(...contract.check('GET', `/v1/operations/${end.id}`, { status: 200, body: end, contentType: 'application/json' }));
    expect([res.body.operation.type, end.state, end.error]).toEqual([res.body.operation.type, 'succeeded', undefined]);
    return end;
  };

  beforeEach(() => { problems.length = 0; });
  beforeAll(async () => {
    db = testDb();
    admin = apiClient();
    const u = await createUser(db, `contract-${crypto.randomBytes(3).toString('hex')}`, 'user');
    user = apiClient((await issueToken(db, u.id)).token);
    await run('ip', ['link', 'add', 'name', BRIDGE, 'type', 'bridge']).catch(() => '');
  });
  afterAll(async () => {
    await deleteInstances(admin, made);
    const pools = db('ip_pools').where({ zone_id: ZONE.id }).select('id');
    await db('ip_addresses').whereIn('pool_id', pools).delete();
    await db('ip_pools').where({ zone_id: ZONE.id }).delete();
    await db('zone_grants').where({ zone_id: ZONE.id }).delete();
    await db('ip_health_runs').where({ zone_id: ZONE.id }).delete();
    await db('zones').where({ id: ZONE.id }).delete();
    await run('ip', ['link', 'del', BRIDGE]).catch(() => '');
    await db('hosts').where({ id: HOST_B.id }).update({ state: 'enabled' });
    await db.destroy();
  }, 240_000);

  test('successes: each route once at least, the answer as documented', async () => {
    await call(apiClient(null), 'GET', '/healthz', 200);
    await call(apiClient(null), 'GET', '/openapi.json', 200);
    await call(admin, 'GET', '/metrics', 200);
    await call(user, 'GET', '/v1/me', 200);

    // Users, tokens, grants, keys.
    const name = `contract-u-${crypto.randomBytes(3).toString('hex')}`;
    const u = (await call(admin, 'POST', '/v1/users', 201, { name, role: 'user' })).body;
    await call(admin, 'GET', '/v1/users?limit=2', 200);
    await call(admin, 'GET', `/v1/users/${u.id}`, 200);
    const token = (await call(admin, 'POST', `/v1/users/${u.id}/tokens`, 201)).body;
    await call(admin, 'GET', `/v1/users/${u.id}/tokens`, 200);
    await call(admin, 'DELETE', `/v1/users/${u.id}/tokens/${token.id}`, 204);
    await call(admin, 'PUT', `/v1/users/${u.id}/grants/${TEST_ZONE.id}`, 200, { maxVcpus: 4, maxMemoryMb: 1024, maxInstances: 2 });
    await call(admin, 'GET', `/v1/users/${u.id}/grants`, 200);
    const { publicKey } = crypto.generateKeyPairSync('ed25519', { publicKeyEncoding: { type: 'spki', format: 'pem' }, privateKeyEncoding: { type: 'pkcs8', format: 'pem' } });
    const key = (await call(user, 'POST', '/v1/users/me/keys', 201, { name: 'contract', publicKey: sshpk.parseKey(publicKey, 'pem').toString('ssh') })).body;
    await call(user, 'GET', '/v1/users/me/keys', 200);
    await call(user, 'DELETE', `/v1/users/me/keys/${key.id}`, 204);

    // Zones, pools, addresses.
    await call(admin, 'POST', '/v1/zones', 201, ZONE);
    await call(admin, 'PATCH', `/v1/zones/${ZONE.id}`, 200, { autoFailover: false });
    await call(admin, 'GET', '/v1/zones', 200);
    const pool = (await call(admin, 'POST', `/v1/zones/${ZONE.id}/pools`, 201, { firstIp: '10.235.0.10', lastIp: '10.235.0.20' })).body;
    await call(admin, 'GET', `/v1/zones/${ZONE.id}/pools`, 200);
    await call(admin, 'PATCH', `/v1/pools/${pool.id}`, 200, { firstIp: '10.235.0.10', lastIp: '10.235.0.30' });
    await call(admin, 'GET', `/v1/pools/${pool.id}/addresses?state=free&limit=5`, 200);
    await call(admin, 'PUT', `/v1/pools/${pool.id}/addresses/10.235.0.12`, 200, { reserved: true });

    // An instance through its life: actions, resize, snapshot, an image of it, migrate, delete.
    const created = await call(admin, 'POST', '/v1/instances', 202, createBody('contract-c', { host: HOST_A.id }));
    const id = created.body.instance.id;
    made.push(id);
    await done(admin, created);
    await call(admin, 'GET', '/v1/instances?limit=5', 200);
    await call(admin, 'GET', `/v1/instances/${id}`, 200);
    await done(admin, await call(admin, 'POST', `/v1/instances/${id}/actions`, 202, { action: 'stop' }));
    await done(admin, await call(admin, 'POST', `/v1/instances/${id}/resize`, 202, { memoryMb: 80 }));
    await done(admin, await call(admin, 'POST', `/v1/instances/${id}/actions`, 202, { action: 'start' }));
    await call(admin, 'GET', `/v1/instances/${id}/actions`, 200);
    await call(admin, 'GET', `/v1/instances/${id}/events`, 200);
    const snap = await call(admin, 'POST', `/v1/instances/${id}/snapshots`, 202, {});
    await done(admin, snap);
    await call(admin, 'GET', `/v1/instances/${id}/snapshots`, 200);
    const made2 = await call(admin, 'POST', '/v1/images', 202, { name: 'contract-img', fromSnapshot: snap.body.snapshot.id });
    await done(admin, made2);
    const imageId = made2.body.image.id;
    await call(admin, 'GET', `/v1/images/${imageId}`, 200);
    await call(admin, 'PATCH', `/v1/images/${imageId}`, 200, { visibility: 'private' });
    await call(admin, 'GET', '/v1/images?mine=true', 200);
    const docker = (await db('images').where({ name: 'busybox' }).first()).location;
    const registered = await call(admin, 'POST', '/v1/images', 201, { name: 'contract-reg', kind: 'docker', reference: docker });
    await done(admin, await call(admin, 'POST', `/v1/images/${registered.body.id}/convert`, 202, { to: 'tgz', name: 'contract-reg-tgz' }), 300_000);
    for (const n of ['contract-reg-tgz', 'contract-reg', 'contract-img']) await call(admin, 'DELETE', `/v1/images/${n}`, 204);
    await call(admin, 'DELETE', `/v1/instances/${id}/snapshots/${snap.body.snapshot.id}`, 204);
    await done(admin, await call(admin, 'POST', `/v1/instances/${id}/migrate`, 202, { snapshot: 'none', host: HOST_B.id }));
    const ops = await call(admin, 'GET', `/v1/operations?instance=${id}&limit=3`, 200);
    await call(admin, 'GET', `/v1/operations/${ops.body.items[0].id}`, 200);

    // Metrics, from a real Prometheus (empty series are still series).
    const prometheus = await startPrometheus('contract-prometheus');
    try {
      await call(admin, 'GET', `/v1/instances/${id}/metrics?range=5m&step=15s`, 200);
      await call(admin, 'GET', `/v1/hosts/${HOST_A.id}/metrics?range=5m&step=15s`, 200);
      await call(admin, 'GET', `/v1/zones/${TEST_ZONE.id}/metrics?range=5m&step=15s`, 200);
    } finally {
      await prometheus.stop();
    }
    await call(admin, 'GET', `/v1/instances/${id}/metrics`, 503);
    await call(admin, 'GET', '/v1/monitoring/targets', 200);
    await done(admin, await call(admin, 'DELETE', `/v1/instances/${id}`, 202));

    // Hosts: an evacuation of B (nothing of the test's is there now), then its restore.
    await call(admin, 'GET', '/v1/hosts', 200);
    await call(admin, 'GET', `/v1/hosts/${HOST_A.id}/events`, 200);
    await call(admin, 'PATCH', `/v1/hosts/${HOST_B.id}`, 200, { fenceCommand: null });
    await done(admin, await call(admin, 'POST', `/v1/hosts/${HOST_B.id}/evacuate`, 202, {}), 300_000);
    await done(admin, await call(admin, 'POST', `/v1/hosts/${HOST_B.id}/restore`, 202, {}), 300_000);

    // The platform's own runs and records.
    await done(admin, await call(admin, 'POST', '/v1/ip-health/checks', 202), 300_000);
    await call(admin, 'GET', `/v1/ip-health/runs?zone=${ZONE.id}`, 200);
    await done(admin, await call(admin, 'POST', '/v1/storage/gc', 202), 400_000);
    await call(admin, 'GET', '/v1/audit?limit=5', 200);
    expect(problems).toEqual([]);
  }, 900_000);

  test('errors: 401 without a token, 403 for a user on admin routes, 404 for an id that names nothing, 400 for refused input, 405 for another method', async () => {
    const nobody = apiClient(null);
    const concrete = (path: string) => path.replace(/\{(\w+)\}/g, (_m, n: string) => (n === 'address' ? '10.235.0.13' : n === 'zone' ? TEST_ZONE.id : crypto.randomUUID()));
    for (const r of ROUTES) {
      const m = r.method.toUpperCase();
      const url = concrete(r.path);
      if (r.access !== 'public') await call(nobody, m, url, 401, r.body ? {} : undefined);
      if (r.access === 'admin') await call(user, m, url, 403, r.body ? {} : undefined);
      // An id that names nothing, as whoever may call it (a user's own keys are "me").
      if (r.path.includes('{id}') && r.access !== 'public' && !r.path.startsWith('/v1/users/{id}/keys')) {
        const body = r.method === 'get' || r.method === 'delete' ? undefined : validBody(r.path);
        await call(r.access === 'admin' ? admin : user, m, url, 404, body);
      }
      if (r.body && !r.path.includes('{')) await call(admin, m, url, 400, { surely: 'not a field' });
    }
    for (const [m, url, allowed] of [['PUT', '/v1/instances', 'GET, HEAD, POST'], ['DELETE', '/v1/zones', 'GET, HEAD, POST'], ['POST', '/healthz', 'GET, HEAD']]) {
      const res = await call(admin, m, url, 405);
      expect(res.body.detail).toContain(allowed);
    }
    await call(user, 'GET', '/v1/instances?limit=0', 400);
    await call(user, 'GET', '/v1/operations?state=sleeping', 400);
    expect(problems).toEqual([]);
  }, 300_000);

  test('every route of the document answered a success in these tests', () => {
    const missing = ROUTES.map((r) => `${r.method} ${r.path}`).filter((k) => !contract.succeeded.has(k));
    expect(missing).toEqual([]);
  });
});

/** A body the route's validator accepts, so that what answers is the 404 for the id. */
function validBody(path: string): unknown {
  const bodies: [RegExp, unknown][] = [
    [/\/actions$/, { action: 'start' }], [/\/resize$/, { memoryMb: 80 }], [/\/migrate$/, {}], [/\/snapshots$/, {}],
    [/\/convert$/, { to: 'tgz' }], [/^\/v1\/images\/\{id\}$/, { visibility: 'public' }], [/\/pools$/, { firstIp: '10.235.0.40', lastIp: '10.235.0.41' }],
    [/^\/v1\/pools\/\{id\}$/, { firstIp: '10.235.0.40', lastIp: '10.235.0.41' }], [/addresses\/\{address\}$/, { reserved: true }],
    [/^\/v1\/hosts\/\{id\}$/, { state: 'enabled' }], [/\/evacuate$/, {}], [/\/restore$/, {}], [/^\/v1\/zones\/\{id\}$/, { autoFailover: false }],
    [/grants\/\{zone\}$/, { maxVcpus: 1, maxMemoryMb: 64, maxInstances: 1 }],
  ];
  return bodies.find(([re]) => re.test(path))?.[1];
}
