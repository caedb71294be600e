import type { Knex } from 'knex';
import { apiClient, assertAddressInvariants, createBody, testDb, waitForOperation, type ApiClient } from '../helpers/platform';
import { HOST_A, TEST_ZONE } from '../helpers/env';

describe('users, roles and quotas', () => {
  let admin: ApiClient;
  let db: Knex;
  beforeAll(() => { admin = apiClient(); db = testDb(); });
  afterAll(() => db.destroy());

  async function newUser(name: string, role = 'user', grant?: { maxVcpus: number; maxMemoryMb: number; maxInstances: number }) {
    const user = await admin.post('/v1/users', { name, role });
    expect(user.status).toBe(201);
    const token = await admin.post(`/v1/users/${user.body.id}/tokens`);
    expect(token.status).toBe(201);
    if (grant) expect((await admin.raw('PUT', `/v1/users/${user.body.id}/grants/${TEST_ZONE.id}`, grant)).status).toBe(200);
    return { id: user.body.id as string, token: token.body.token as string, tokenId: token.body.id as string, api: apiClient(token.body.token) };
  }

  async function deleteAll(api: ApiClient, ids: string[]) {
    const ops = await Promise.all(ids.map((id) => api.del(`/v1/instances/${id}`)));
    for (const op of ops) expect((await waitForOperation(api, op.body.operation.id)).state).toBe('succeeded');
  }

  test('tokens are stored hashed, shown once, any number per user, and revocable', async () => {
    const u = await newUser('token-user');
    const second = await admin.post(`/v1/users/${u.id}/tokens`);
    const rows = await db('api_tokens').where({ user_id: u.id });
    expect(rows).toHaveLength(2);
    for (const r of rows) {
      expect(r.token_hash).toMatch(/^[0-9a-f]{64}$/);
      expect([u.token, second.body.token]).not.toContain(r.token_hash);
    }
    const shown = (await admin.get(`/v1/users/${u.id}/tokens`)).body;
    expect(JSON.stringify(shown)).not.toContain(u.token);
    expect(shown.items).toHaveLength(2);
    expect((await u.api.get('/v1/instances')).status).toBe(200);
    expect((await admin.del(`/v1/users/${u.id}/tokens/${u.tokenId}`)).status).toBe(204);
    expect((await u.api.get('/v1/instances')).status).toBe(401);
    expect((await apiClient(second.body.token).get('/v1/instances')).status).toBe(200);
    expect((await admin.del(`/v1/users/${u.id}/tokens/${u.tokenId}`)).status).toBe(404);
    // Revoked behind the API's back (an operator's SQL) just after the API checked it, and kept it
    // (api/token-cache.ts): the API hears of the revocation when it commits.
    const third = await admin.post(`/v1/users/${u.id}/tokens`);
    const api3 = apiClient(third.body.token);
    expect((await api3.get('/v1/instances')).status).toBe(200);
    await db('api_tokens').where({ id: third.body.id }).update({ revoked_at: db.fn.now() });
    let status = 200;
    for (const deadline = Date.now() + 5000; Date.now() < deadline && status === 200;) {
      status = (await api3.get('/v1/instances')).status;
      if (status === 200) await new Promise((r) => setTimeout(r, 20));
    }
    expect(status).toBe(401);
  });

  test('authorization matrix: each role against each endpoint family', async () => {
    const u = await newUser('matrix-user', 'user', { maxVcpus: 4, maxMemoryMb: 1024, maxInstances: 4 });
    const other = await newUser('matrix-other', 'user', { maxVcpus: 4, maxMemoryMb: 1024, maxInstances: 4 });
    const mine = await u.api.post('/v1/instances', createBody('matrix-1'));
    expect(mine.status).toBe(202);
    expect((await waitForOperation(u.api, mine.body.operation.id))).toMatchObject({ state: 'succeeded' });
    const id = mine.body.instance.id;
    const [pool] = (await admin.get(`/v1/zones/${TEST_ZONE.id}/pools`)).body.items;

    const matrix: [string, string, unknown, number, number][] = [
      // method, path, body, as user, as admin
      ['GET', '/v1/instances', undefined, 200, 200],
      ['GET', `/v1/instances/${id}`, undefined, 200, 200],
      ['GET', `/v1/operations/${mine.body.operation.id}`, undefined, 200, 200],
      ['GET', '/v1/zones', undefined, 200, 200],
      ['GET', '/v1/images', undefined, 200, 200],
      ['GET', '/v1/hosts', undefined, 403, 200],
      ['PATCH', `/v1/hosts/${HOST_A.id}`, { state: 'enabled' }, 403, 200],
      ['GET', '/v1/users', undefined, 403, 200],
      ['POST', '/v1/users', { name: 'x-made', role: 'user' }, 403, 201],
      ['GET', `/v1/users/${u.id}`, undefined, 403, 200],
      ['POST', `/v1/users/${u.id}/tokens`, undefined, 403, 201],
      ['PUT', `/v1/users/${u.id}/grants/${TEST_ZONE.id}`, { maxVcpus: 4, maxMemoryMb: 1024, maxInstances: 4 }, 403, 200],
      ['POST', '/v1/zones', { id: 'matrix-zone', subnet: '10.215.0.0/24', gateway: '10.215.0.1', bridge: 'vcmatrix0' }, 403, 201],
      ['GET', `/v1/zones/${TEST_ZONE.id}/pools`, undefined, 403, 200],
      ['POST', '/v1/zones/matrix-zone/pools', { firstIp: '10.215.0.10', lastIp: '10.215.0.20' }, 403, 201],
      ['GET', `/v1/pools/${pool.id}/addresses`, undefined, 403, 200],
      ['GET', '/v1/ip-health/runs', undefined, 403, 200],
    ];
    for (const [method, path, body, asUser, asAdmin] of matrix) {
      expect([method, path, (await u.api.raw(method, path, body)).status]).toEqual([method, path, asUser]);
      expect([method, path, (await admin.raw(method, path, body)).status]).toEqual([method, path, asAdmin]);
    }
    // Another user's instance and operation do not exist for them.
    expect((await other.api.get(`/v1/instances/${id}`)).status).toBe(404);
    expect((await other.api.get(`/v1/operations/${mine.body.operation.id}`)).status).toBe(404);
    expect((await other.api.del(`/v1/instances/${id}`)).status).toBe(404);
    expect((await other.api.get('/v1/instances')).body.items).toEqual([]);
    expect((await u.api.get('/v1/instances')).body.items.map((i: { id: string }) => i.id)).toEqual([id]);
    await deleteAll(u.api, [id]);
  });

  test('a user without a grant in the zone is refused (403) and nothing is written', async () => {
    const u = await newUser('no-grant-user');
    const before = await db('instances').count('* as n').first();
    const res = await u.api.post('/v1/instances', createBody('nogrant-1'));
    expect(res.status).toBe(403);
    expect(res.body.detail).toMatch(/no grant in zone test/);
    expect(await db('instances').count('* as n').first()).toEqual(before);
  });

  test('quota race: a grant of 5 instances and 20 concurrent creates give exactly 5; deletes give it back', async () => {
    const u = await newUser('race-user', 'user', { maxVcpus: 100, maxMemoryMb: 100000, maxInstances: 5 });
    const answers = await Promise.all(Array.from({ length: 20 }, (_, i) => u.api.post('/v1/instances', createBody(`race-${i}`))));
    const accepted = answers.filter((a) => a.status === 202);
    const refused = answers.filter((a) => a.status === 422);
    expect(accepted).toHaveLength(5);
    expect(refused).toHaveLength(15);
    for (const r of refused) {
      expect(r.contentType).toContain('application/problem+json');
      expect(r.body.limit).toEqual({ vcpus: 100, memoryMb: 100000, instances: 5, diskGb: 100, snapshots: 10, snapshotGb: 100 });
      expect(r.body.usage).toMatchObject({ instances: 5 });
      expect(r.body.exceeded).toEqual(['instances']);
    }
    expect(await db('instances').where({ owner_id: u.id })).toHaveLength(5);
    for (const r of accepted) expect(await waitForOperation(u.api, r.body.operation.id)).toMatchObject({ state: 'succeeded' });
    await assertAddressInvariants(db);

    const more = await u.api.post('/v1/instances', createBody('race-extra'));
    expect(more.status).toBe(422);
    await deleteAll(u.api, [accepted[0].body.instance.id]);
    const again = await u.api.post('/v1/instances', createBody('race-extra'));
    expect(again.status).toBe(202);
    expect(await waitForOperation(u.api, again.body.operation.id)).toMatchObject({ state: 'succeeded' });
    await deleteAll(u.api, [...accepted.slice(1).map((a) => a.body.instance.id), again.body.instance.id]);
    expect((await admin.get(`/v1/users/${u.id}/grants`)).body.items[0].usage).toEqual({ instances: 0, vcpus: 0, memoryMb: 0, diskGb: 0, snapshots: 0, snapshotGb: 0 });
  });

  test('vCPU and memory limits are quotas too, and a failed create gives its share back', async () => {
    const u = await newUser('limits-user', 'user', { maxVcpus: 2, maxMemoryMb: 256, maxInstances: 10 });
    const tooMany = await u.api.post('/v1/instances', createBody('limits-1', { vcpus: 3 }));
    expect(tooMany.status).toBe(422);
    expect(tooMany.body.exceeded).toEqual(['vcpus']);
    const tooBig = await u.api.post('/v1/instances', createBody('limits-1', { memoryMb: 512 }));
    expect(tooBig.body.exceeded).toEqual(['memoryMb']);
    // A create that fails on the host holds nothing afterwards.
    const failing = await u.api.post('/v1/instances', createBody('limits-ghost', { vcpus: 2, memoryMb: 256, image: 'ghost' }));
    expect(failing.status).toBe(202);
    expect((await waitForOperation(u.api, failing.body.operation.id)).state).toBe('failed');
    const fits = await u.api.post('/v1/instances', createBody('limits-2', { vcpus: 2, memoryMb: 256 }));
    expect(fits.status).toBe(202);
    expect(await waitForOperation(u.api, fits.body.operation.id)).toMatchObject({ state: 'succeeded' });
    await deleteAll(u.api, [fits.body.instance.id]);
  });

  test('disk and snapshots are quotas too: a huge diskGb is refused, and snapshots stop at their count and their GB', async () => {
    const u = await newUser('disk-user', 'user', { maxVcpus: 4, maxMemoryMb: 1024, maxInstances: 4 });
    expect((await admin.raw('PUT', `/v1/users/${u.id}/grants/${TEST_ZONE.id}`, { maxVcpus: 4, maxMemoryMb: 1024, maxInstances: 4, maxDiskGb: 3, maxSnapshots: 2, maxSnapshotGb: 100 })).status).toBe(200);
    const before = (await db('instances')).length;
    const huge = await u.api.post('/v1/instances', createBody('disk-huge', { diskGb: 4000 }));
    expect(huge).toMatchObject({ status: 422, body: { exceeded: ['diskGb'] } });
    expect((await db('instances')).length).toBe(before);
    const made = await u.api.post('/v1/instances', createBody('disk-1', { diskGb: 2, host: undefined }));
    expect(made.status).toBe(202);
    expect(await waitForOperation(u.api, made.body.operation.id)).toMatchObject({ state: 'succeeded' });
    expect((await u.api.post('/v1/instances', createBody('disk-2', { diskGb: 2 }))).body.exceeded).toEqual(['diskGb']);
    const id = made.body.instance.id;
    for (let i = 0; i < 2; i++) {
      const snap = await u.api.post(`/v1/instances/${id}/snapshots`);
      expect(snap.status).toBe(202);
      expect(await waitForOperation(u.api, snap.body.operation.id, 120_000)).toMatchObject({ state: 'succeeded' });
    }
    const third = await u.api.post(`/v1/instances/${id}/snapshots`);
    expect(third).toMatchObject({ status: 422, body: { exceeded: ['snapshots'] } });
    const grants = (await admin.get(`/v1/users/${u.id}/grants`)).body.items;
    expect(grants).toContainEqual(expect.objectContaining({ zone: TEST_ZONE.id, maxDiskGb: 3, maxSnapshots: 2, usage: expect.objectContaining({ diskGb: 2, snapshots: 2, snapshotGb: 4 }) }));
    // Their GB too: room for one more by count, not by size.
    expect((await admin.raw('PUT', `/v1/users/${u.id}/grants/${TEST_ZONE.id}`, { maxVcpus: 4, maxMemoryMb: 1024, maxInstances: 4, maxDiskGb: 3, maxSnapshots: 5, maxSnapshotGb: 5 })).status).toBe(200);
    expect((await u.api.post(`/v1/instances/${id}/snapshots`)).body.exceeded).toEqual(['snapshotGb']);
    await deleteAll(u.api, [id]);
  });

  test('bad admin input: 400 naming the field, nothing written', async () => {
    const users = await db('users').count('* as n').first();
    const bad: [string, string, unknown, string][] = [
      ['POST', '/v1/users', { name: 'Bad Name', role: 'user' }, 'name'],
      ['POST', '/v1/users', { name: 'okname', role: 'root' }, 'role'],
      ['POST', '/v1/users', { name: 'okname', role: 'user', extra: true }, 'extra'],
    ];
    for (const [method, path, body, field] of bad) {
      const res = await admin.raw(method, path, body);
      expect(res.status).toBe(400);
      expect(res.body.errors.map((e: { path: string }) => e.path)).toContain(field);
    }
    expect(await db('users').count('* as n').first()).toEqual(users);
    const u = await newUser('grant-target');
    const grant = await admin.raw('PUT', `/v1/users/${u.id}/grants/${TEST_ZONE.id}`, { maxVcpus: -1, maxMemoryMb: 10, maxInstances: 'many' });
    expect(grant.status).toBe(400);
    expect(grant.body.errors.map((e: { path: string }) => e.path).sort()).toEqual(['maxInstances', 'maxMemoryMb', 'maxVcpus']);
    expect(await db('zone_grants').where({ user_id: u.id })).toHaveLength(0);
    expect((await admin.raw('PUT', `/v1/users/${u.id}/grants/atlantis`, { maxVcpus: 1, maxMemoryMb: 64, maxInstances: 1 })).status).toBe(404);
    expect((await admin.post('/v1/users', { name: 'grant-target', role: 'user' })).status).toBe(409);
  });
});
