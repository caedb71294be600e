import crypto from 'node:crypto';
import type { Knex } from 'knex';
import { seedIds, apiClient, assertAddressInvariants, createBody, testDb, waitForOperation, type ApiClient } from '../helpers/platform';
import { HOST_A, TEST_ZONE } from '../helpers/env';
import { allocateAddress } from '../../db/ipam';
import { finishBuildingPools } from '../../db/zones';
import { CapacityError } from '../../lib/errors';
import { ipToInt } from '../../lib/net';

describe('IP pools', () => {
  let admin: ApiClient;
  let db: Knex;
  let imageId: string;
  let adminId: string;
  beforeAll(async () => {
    admin = apiClient();
    db = testDb();
    ({ imageId, adminId } = await seedIds(db));
  });
  afterAll(() => db.destroy());

  const instanceRows = async (zone: string, n: number) => {
    const rows = Array.from({ length: n }, (_, i) => ({
      id: crypto.randomUUID(), name: `${zone}-${i}`, owner_id: adminId, zone_id: zone, kind: 'docker', image_id: imageId,
      vcpus: 1, memory_mb: 64, disk_gb: 1, state: 'provisioning', app: 'db',
    }));
    await db('instances').insert(rows);
    return rows;
  };

  test('a pool inside the zone subnet, without the gateway and its reserved addresses; grown; listed with states', async () => {
    expect((await admin.post('/v1/zones', { id: 'pools-a', subnet: '10.216.0.0/24', gateway: '10.216.0.1', bridge: 'vcpoolsa' })).status).toBe(201);
    const pool = await admin.post('/v1/zones/pools-a/pools', { firstIp: '10.216.0.1', lastIp: '10.216.0.8', reserved: ['10.216.0.5'] });
    expect(pool.status).toBe(201);
    let addresses = (await admin.get(`/v1/pools/${pool.body.id}/addresses`)).body.items;
    expect(addresses.map((a: { address: string }) => a.address)).toEqual(['10.216.0.2', '10.216.0.3', '10.216.0.4', '10.216.0.5', '10.216.0.6', '10.216.0.7', '10.216.0.8']);
    expect(addresses.find((a: { address: string }) => a.address === '10.216.0.5').state).toBe('reserved');
    const grown = await admin.raw('PATCH', `/v1/pools/${pool.body.id}`, { firstIp: '10.216.0.1', lastIp: '10.216.0.12' });
    expect(grown.status).toBe(200);
    expect(grown.body).toMatchObject({ lastIp: '10.216.0.12', added: 4 });
    addresses = (await admin.get(`/v1/pools/${pool.body.id}/addresses?state=free`)).body.items;
    expect(addresses).toHaveLength(10);
    // Refusals, each changing nothing.
    const count = async () => (await db('ip_addresses').where({ zone_id: 'pools-a' })).length;
    const before = await count();
    expect((await admin.post('/v1/zones/pools-a/pools', { firstIp: '10.216.0.10', lastIp: '10.216.0.20' })).status).toBe(409);
    expect((await admin.post('/v1/zones/pools-a/pools', { firstIp: '10.216.0.100', lastIp: '10.216.1.20' })).status).toBe(400);
    expect((await admin.raw('PATCH', `/v1/pools/${pool.body.id}`, { firstIp: '10.216.0.3', lastIp: '10.216.0.12' })).status).toBe(400);
    expect((await admin.post('/v1/zones/pools-a/pools', { firstIp: 'ten', lastIp: '10.216.0.20' })).status).toBe(400);
    expect((await admin.post('/v1/zones', { id: 'pools-b', subnet: '10.217.0.0/24', gateway: '10.218.0.1', bridge: 'vcpoolsb' })).status).toBe(400);
    expect((await admin.post('/v1/zones', { id: 'pools-a', subnet: '10.216.0.0/24', gateway: '10.216.0.1', bridge: 'vcpoolsa' })).status).toBe(409);
    expect((await admin.get(`/v1/pools/${pool.body.id}/addresses?state=gone`)).status).toBe(400);
    expect(await count()).toBe(before);
  });

  test('a /16 pool: 65,533 addresses made in Postgres, a batch per transaction (seen part-made from outside); allocation works at its far end', async () => {
    expect((await admin.post('/v1/zones', { id: 'pools-big', subnet: '10.100.0.0/16', gateway: '10.100.0.1', bridge: 'vcpoolsbig' })).status).toBe(201);
    try {
      // Another session watches the zone's addresses while the request runs: with one transaction
      // for all of them it would see none until all of them.
      const seen = new Set<number>();
      let done = false;
      const watch = (async () => {
        while (!done) {
          seen.add(Number((await db('ip_addresses').where({ zone_id: 'pools-big' }).count('* as n'))[0].n));
          await new Promise((r) => setTimeout(r, 20));
        }
      })();
      const pool = await admin.post('/v1/zones/pools-big/pools', { firstIp: '10.100.0.1', lastIp: '10.100.255.254', reserved: ['10.100.200.7'] });
      done = true;
      await watch;
      expect(pool.status).toBe(201);
      expect(pool.body.state).toBe('ready');
      expect([...seen].some((n) => n > 0 && n < 65533)).toBe(true);
      const states = await db('ip_addresses').where({ pool_id: pool.body.id }).select('state').count('* as n').groupBy('state');
      expect(Object.fromEntries(states.map((r) => [r.state, Number(r.n)]))).toEqual({ free: 65532, reserved: 1 });
      expect(await db('ip_addresses').where({ pool_id: pool.body.id, address: '10.100.0.1' })).toEqual([]); // the gateway
      expect(await db('ip_addresses').where({ pool_id: pool.body.id, address: '10.100.255.254' }).first()).toMatchObject({ sort_key: String(ipToInt('10.100.255.254')) });
      const [row] = await instanceRows('pools-big', 1);
      const got = await db.transaction((trx) => allocateAddress(trx, { ...row, requested_ip: '10.100.254.9' }));
      expect(got.ip).toBe('10.100.254.9');
      const grown = await admin.raw('PATCH', `/v1/pools/${pool.body.id}`, { firstIp: '10.100.0.1', lastIp: '10.100.255.254' });
      expect(grown.body).toMatchObject({ added: 0 });
    } finally {
      // No pool may stay on a bridge that does not exist (the health check would probe it).
      await db('ip_addresses').where({ zone_id: 'pools-big' }).update({ state: 'free', instance_id: null });
      await db('instances').where({ zone_id: 'pools-big' }).delete();
      await db('ip_addresses').where({ zone_id: 'pools-big' }).delete();
      await db('ip_pools').where({ zone_id: 'pools-big' }).delete();
      await db('zones').where({ id: 'pools-big' }).delete();
    }
  });

  test('a pool a crash left building is finished when the API starts, its reserved address kept reserved; overlapping creates give one 201 and one 409', async () => {
    expect((await admin.post('/v1/zones', { id: 'pools-crash', subnet: '10.223.0.0/24', gateway: '10.223.0.1', bridge: 'vcpoolscr' })).status).toBe(201);
    try {
      const [pool] = await db('ip_pools').insert({ zone_id: 'pools-crash', first_ip: '10.223.0.2', last_ip: '10.223.0.40', state: 'building', reserved: ['10.223.0.30'] }).returning('id');
      await db('ip_addresses').insert({ address: '10.223.0.2', zone_id: 'pools-crash', pool_id: pool.id, sort_key: ipToInt('10.223.0.2'), state: 'free' });
      // Its range is claimed though its addresses are not all there: no other pool may take them.
      expect((await admin.post('/v1/zones/pools-crash/pools', { firstIp: '10.223.0.35', lastIp: '10.223.0.50' })).status).toBe(409);
      expect(await finishBuildingPools(db)).toBeGreaterThanOrEqual(1);
      expect(await db('ip_pools').where({ id: pool.id }).first()).toMatchObject({ state: 'ready' });
      expect(await db('ip_addresses').where({ pool_id: pool.id }).count('* as n').first()).toMatchObject({ n: '39' });
      expect(await db('ip_addresses').where({ pool_id: pool.id, address: '10.223.0.30' }).first()).toMatchObject({ state: 'reserved' });
      const both = await Promise.all([
        admin.post('/v1/zones/pools-crash/pools', { firstIp: '10.223.0.100', lastIp: '10.223.0.200' }),
        admin.post('/v1/zones/pools-crash/pools', { firstIp: '10.223.0.150', lastIp: '10.223.0.250' }),
      ]);
      expect(both.map((r) => r.status).sort()).toEqual([201, 409]);
      expect(await db('ip_addresses').where({ zone_id: 'pools-crash' }).whereBetween('sort_key', [ipToInt('10.223.0.150'), ipToInt('10.223.0.200')])
        .countDistinct('pool_id as n').first()).toMatchObject({ n: '1' });
    } finally {
      await db('ip_addresses').where({ zone_id: 'pools-crash' }).delete();
      await db('ip_pools').where({ zone_id: 'pools-crash' }).delete();
      await db('zones').where({ id: 'pools-crash' }).delete();
    }
  });

  test('zones: an overlapping subnet or a bridge already used is a 409; two concurrent creates of one zone give one 201 and one 409', async () => {
    const zones = async () => (await db('zones')).length;
    const before = await zones();
    const overlap = await admin.post('/v1/zones', { id: 'pools-overlap', subnet: '10.216.0.128/25', gateway: '10.216.0.129', bridge: 'vcoverlap0' });
    expect(overlap).toMatchObject({ status: 409, body: { detail: expect.stringMatching(/overlaps zone pools-a/) } });
    const wider = await admin.post('/v1/zones', { id: 'pools-wide', subnet: '10.216.0.0/16', gateway: '10.216.200.1', bridge: 'vcwide0' });
    expect(wider.status).toBe(409);
    const bridge = await admin.post('/v1/zones', { id: 'pools-bridge', subnet: '10.219.0.0/24', gateway: '10.219.0.1', bridge: 'vcpoolsa' });
    expect(bridge).toMatchObject({ status: 409, body: { detail: expect.stringMatching(/bridge vcpoolsa/) } });
    expect(await zones()).toBe(before);
    const body = { id: 'pools-twice', subnet: '10.222.0.0/24', gateway: '10.222.0.1', bridge: 'vctwice0' };
    const both = await Promise.all([admin.post('/v1/zones', body), admin.post('/v1/zones', body)]);
    expect(both.map((r) => r.status).sort()).toEqual([201, 409]);
    expect(await zones()).toBe(before + 1);
  });

  test('200 concurrent allocations from one pool give 200 distinct addresses; an exhausted pool is a CapacityError', async () => {
    expect((await admin.post('/v1/zones', { id: 'race', subnet: '10.220.0.0/24', gateway: '10.220.0.1', bridge: 'vcrace0' })).status).toBe(201);
    expect((await admin.post('/v1/zones/race/pools', { firstIp: '10.220.0.2', lastIp: '10.220.0.201' })).status).toBe(201);
    const rows = await instanceRows('race', 201);
    const results = await Promise.allSettled(rows.map((r) => db.transaction(async (trx) => allocateAddress(trx, { ...r, requested_ip: null }))));
    const ok = results.filter((r): r is PromiseFulfilledResult<{ ip: string; mac: string; hostname: string }> => r.status === 'fulfilled').map((r) => r.value);
    const failed = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
    expect(ok).toHaveLength(200);
    expect(new Set(ok.map((a) => a.ip)).size).toBe(200);
    expect(failed).toHaveLength(1);
    expect(failed[0].reason).toBeInstanceOf(CapacityError);
    expect(failed[0].reason.message).toMatch(/exhausted/);
    expect(ok.find((a) => a.ip === '10.220.0.7')).toMatchObject({ mac: '52:54:0a:dc:00:07', hostname: 'race-db-0-7' });
    // An allocation run again (a retried activity) finds the address the instance holds, and takes no other.
    const held = results.findIndex((r) => r.status === 'fulfilled');
    const again = await db.transaction((trx) => allocateAddress(trx, { ...rows[held], requested_ip: null }));
    expect(again).toEqual((results[held] as PromiseFulfilledResult<unknown>).value);
    expect(await db('ip_addresses').where({ instance_id: rows[held].id }).select('address')).toEqual([{ address: again.ip }]);
    await assertAddressInvariants(db);
  });

  test('through the API, an exhausted pool answers 422 and a taken named address 409; nothing written', async () => {
    expect((await admin.post('/v1/zones', { id: 'tiny', subnet: '10.221.0.0/24', gateway: '10.221.0.1', bridge: 'vctiny0' })).status).toBe(201);
    expect((await admin.post('/v1/zones/tiny/pools', { firstIp: '10.221.0.2', lastIp: '10.221.0.2' })).status).toBe(201);
    // A host that fits, so that only the addresses are missing.
    await db('hosts').insert({
      id: 'tiny-host', zone_id: 'tiny', vcpus: 4, memory_mb: 4096, disk_gb: 100, numa: JSON.stringify({ nodes: [{ id: 0, cpus: [0, 1, 2, 3], memoryMb: 4096 }] }),
      kinds: ['docker'], last_heartbeat_at: new Date(Date.now() + 3600_000),
    });
    const [row] = await instanceRows('tiny', 1);
    await db.transaction((trx) => allocateAddress(trx, { ...row, requested_ip: null }));
    const before = (await db('instances')).length;
    const exhausted = await admin.post('/v1/instances', createBody('tiny-1', { zone: 'tiny' }));
    expect(exhausted.status).toBe(422);
    expect(exhausted.body.detail).toMatch(/exhausted/);
    const taken = await admin.post('/v1/instances', createBody('tiny-1', { zone: 'tiny', ip: '10.221.0.2' }));
    expect(taken.status).toBe(409);
    expect((await db('instances')).length).toBe(before);
    // This host has no agent: gone, so that no later test waits on its queue.
    await db('hosts').where({ id: 'tiny-host' }).delete();
  });

  test('an admin-named free address is the one the instance gets', async () => {
    const res = await admin.post('/v1/instances', createBody('named-ip', { ip: '10.214.0.200', host: HOST_A.id, app: 'named' }));
    expect(res.status).toBe(202);
    expect(await waitForOperation(admin, res.body.operation.id)).toMatchObject({ state: 'succeeded' });
    const instance = (await admin.get(`/v1/instances/${res.body.instance.id}`)).body;
    expect(instance).toMatchObject({ ip: '10.214.0.200', mac: '52:54:0a:d6:00:c8', hostname: `${TEST_ZONE.id}-named-0-200` });
    const del = await admin.del(`/v1/instances/${instance.id}`);
    expect((await waitForOperation(admin, del.body.operation.id)).state).toBe('succeeded');
  });
});
