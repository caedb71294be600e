import crypto from 'node:crypto';
import type { Knex } from 'knex';
import { apiClient, assertAddressInvariants, createBody, deleteInstances, pings, testDb, waitForOperation, type ApiClient } from '../helpers/platform';
import { HOST_A, HOST_B, TEST_ZONE } from '../helpers/env';
import { createUser, issueToken } from '../../db/users';
import { putGrant } from '../../db/grants';

/**
 * `POST /v1/instances` with `count`: one parent operation (`batch-<id>`) whose members are creates of
 * their own, spread by app over the zone's hosts, the quota for all of them checked at once; a
 * failed member leaves the others unless the batch is `atomic`.
 */
describe('batch create', () => {
  let db: Knex;
  let admin: ApiClient;

  beforeAll(() => { db = testDb(); admin = apiClient(); });
  afterAll(() => db.destroy());

  const deleteAll = async (ids: string[]) => {
    for (const state of await deleteInstances(admin, ids)) if (!state.startsWith('not deleted')) expect(state).toBe('succeeded');
  };

  test('four containers: name-1..name-4, running at distinct addresses, spread over both hosts, with progress and each member its own operation', async () => {
    const res = await admin.post('/v1/instances', createBody('batch', { count: 4 }));
    expect(res.status).toBe(202);
    expect(res.body.instances.map((i: { name: string }) => i.name)).toEqual(['batch-1', 'batch-2', 'batch-3', 'batch-4']);
    expect(res.body.operation).toMatchObject({ type: 'batch-create', workflowId: `batch-${res.body.operation.id}` });
    const op = await waitForOperation(admin, res.body.operation.id, 240_000);
    expect(op).toMatchObject({ state: 'succeeded', progress: { total: 4, remaining: 0, failed: [] } });
    const ids = res.body.instances.map((i: { id: string }) => i.id);
    const rows = await db('instances').whereIn('id', ids);
    expect(rows.every((r) => r.state === 'running' && r.app === 'batch')).toBe(true);
    expect(new Set(rows.map((r) => r.ip)).size).toBe(4);
    expect(new Set(rows.map((r) => r.host_id))).toEqual(new Set([HOST_A.id, HOST_B.id]));
    for (const r of rows) expect(await pings(r.ip)).toBe(true);
    const members = await db('operations').whereIn('instance_id', ids).where({ type: 'create' });
    expect(members.map((m) => m.workflow_id).sort()).toEqual(ids.map((id: string) => `instance-${id}-create`).sort());
    expect(members.every((m) => m.state === 'succeeded')).toBe(true);
    await deleteAll(ids);
    await assertAddressInvariants(db);
  }, 300_000);

  test('the quota is checked for all members at once: over it, a 422 and nothing written', async () => {
    const u = await createUser(db, `batch-user-${crypto.randomBytes(3).toString('hex')}`, 'user');
    await putGrant(db, u.id, TEST_ZONE.id, { maxVcpus: 4, maxMemoryMb: 1024, maxInstances: 3 });
    const user = apiClient((await issueToken(db, u.id)).token);
    const refused = await user.post('/v1/instances', createBody('over', { count: 4 }));
    expect(refused).toMatchObject({ status: 422, body: { exceeded: ['instances'] } });
    expect(await db('instances').where({ owner_id: u.id })).toEqual([]);
    expect(await db('operations').where({ requested_by: u.id })).toEqual([]);
    // Bad batches are 400s.
    for (const body of [createBody('x', { count: 0 }), createBody('x', { count: 21 }), createBody('x', { count: 2, ip: '10.214.0.99' }),
      createBody('x', { atomic: true }), createBody('a'.repeat(62), { count: 2 })]) {
      expect((await admin.post('/v1/instances', body)).status).toBe(400);
    }
  });

  test('one member that cannot be placed: without atomic the others stay; with atomic the made ones are deleted and every address is free again', async () => {
    // Pinned to host A with room there for two of the three members' memory.
    const host = (await admin.get('/v1/hosts?limit=1000')).body.items.find((h: { id: string }) => h.id === HOST_A.id);
    const memoryMb = Math.floor((host.memoryMb - host.usedMemoryMb) / 2) - 64;
    const freeBefore = Number((await db('ip_addresses').where({ zone_id: TEST_ZONE.id, state: 'free' }).count('* as n'))[0].n);

    const loose = await admin.post('/v1/instances', createBody('loose', { count: 3, host: HOST_A.id, memoryMb }));
    expect(loose.status).toBe(202);
    const looseOp = await waitForOperation(admin, loose.body.operation.id, 240_000);
    expect(looseOp).toMatchObject({ state: 'failed' });
    expect(looseOp.progress.succeeded).toHaveLength(2);
    expect(looseOp.progress.failed).toHaveLength(1);
    const looseIds = loose.body.instances.map((i: { id: string }) => i.id);
    const states = (await db('instances').whereIn('id', looseIds).pluck('state')).sort();
    expect(states).toEqual(['failed', 'running', 'running']);
    await deleteAll(looseIds);

    const atomic = await admin.post('/v1/instances', createBody('atomic', { count: 3, host: HOST_A.id, memoryMb, atomic: true }));
    expect(atomic.status).toBe(202);
    const atomicOp = await waitForOperation(admin, atomic.body.operation.id, 240_000);
    expect(atomicOp).toMatchObject({ state: 'failed', error: expect.stringMatching(/all or nothing/) });
    const atomicIds = atomic.body.instances.map((i: { id: string }) => i.id);
    const after = await db('instances').whereIn('id', atomicIds).select('state', 'ip');
    expect(after.every((r) => ['deleted', 'failed'].includes(r.state))).toBe(true);
    expect(after.filter((r) => r.state === 'deleted').length).toBeGreaterThanOrEqual(1);
    expect(Number((await db('ip_addresses').where({ zone_id: TEST_ZONE.id, state: 'free' }).count('* as n'))[0].n)).toBe(freeBefore);
    await assertAddressInvariants(db);
  }, 400_000);
});
