import crypto from 'node:crypto';
import type { Knex } from 'knex';
import { seedIds, apiClient, createBody, testDb, waitForOperation, type ApiClient } from '../helpers/platform';
import { HOST_A, HOST_B } from '../helpers/env';
import { claimHost, claimTargetHost, commitTargetHost, ensureRankIndex, releaseHost, topCandidates } from '../../db/placement';
import { rankHosts } from '../../placement/rank';
import { appCountDrift } from '../../db/app-counts';
import { CapacityError } from '../../lib/errors';
import type { InstanceRow } from '../../db/instances';

const ratios = { cpu: 1, memory: 1 };
const LIVE = 60;

describe('placement against the database', () => {
  let admin: ApiClient;
  let db: Knex;
  let imageId: string;
  let adminId: string;
  beforeAll(async () => {
    admin = apiClient();
    db = testDb();
    ({ imageId, adminId } = await seedIds(db));
  });
  // The fake zones go with their hosts and instances: fake hosts left behind would have the
  // reconciler and the host watch wait on queues nobody serves, round after round, for the files after.
  const made: string[] = [];
  afterAll(async () => {
    const instances = db('instances').whereIn('zone_id', made).select('id');
    await db('ip_addresses').whereIn('instance_id', instances).update({ state: 'free', instance_id: null });
    await db('operations').whereIn('instance_id', instances).delete();
    await db('stale_copies').whereIn('instance_id', instances).delete();
    await db('instances').whereIn('zone_id', made).delete();
    const hosts = db('hosts').whereIn('zone_id', made).select('id');
    for (const t of ['operations', 'stale_copies']) await db(t).whereIn('host_id', hosts).delete();
    await db('hosts').whereIn('zone_id', made).delete();
    await db('ip_addresses').whereIn('zone_id', made).delete();
    for (const t of ['ip_pools', 'zone_grants', 'ip_health_runs']) await db(t).whereIn('zone_id', made).delete();
    await db('zones').whereIn('id', made).delete();
    await db.destroy();
  });

  // Zones may neither overlap nor share a bridge: each fake one gets its own.
  const zone = async (id: string) => {
    made.push(id);
    const n = made.length;
    await db('zones').insert({ id, subnet: `172.20.${n}.0/24`, gateway: `172.20.${n}.1`, bridge: `vcplace${n}` });
  };
  const host = (id: string, zoneId: string, over: Record<string, unknown> = {}) => ({
    id, zone_id: zoneId, vcpus: 8, memory_mb: 16384, disk_gb: 500, kinds: ['docker'], last_heartbeat_at: new Date(),
    numa: JSON.stringify({ nodes: [{ id: 0, cpus: [0, 1, 2, 3], memoryMb: 8192 }, { id: 1, cpus: [4, 5, 6, 7], memoryMb: 8192 }] }), ...over,
  });
  const instance = async (zoneId: string, over: Record<string, unknown> = {}) => {
    const row = {
      id: crypto.randomUUID(), name: `p-${crypto.randomUUID().slice(0, 8)}`, owner_id: adminId, zone_id: zoneId, kind: 'docker',
      image_id: imageId, vcpus: 1, memory_mb: 512, disk_gb: 1, state: 'provisioning', ...over,
    };
    await db('instances').insert(row);
    return row;
  };

  test('a 2-vCPU instance stays inside one NUMA node, on its least-used CPUs; freed on release', async () => {
    await zone('numa');
    await db('hosts').insert(host('numa-1', 'numa'));
    const over = { cpu: 4, memory: 1 };
    const claims = [];
    for (let i = 0; i < 4; i++) claims.push(await claimHost(db, (await instance('numa', { vcpus: 2 })).id, over, LIVE));
    expect(claims.map((c) => c.cpuset)).toEqual([[0, 1], [2, 3], [4, 5], [6, 7]]);
    // Every CPU is used once: a 1-vCPU instance lands on one, then the next on a different one.
    const one = await claimHost(db, (await instance('numa')).id, over, LIVE);
    const two = await claimHost(db, (await instance('numa')).id, over, LIVE);
    expect(one.cpuset).not.toEqual(two.cpuset);
    const first = (await db('instances').where({ zone_id: 'numa', cpuset: '{0,1}' }).first()).id;
    await releaseHost(db, first);
    await releaseHost(db, first);
    expect((await db('hosts').where({ id: 'numa-1' }).first()).used_vcpus).toBe(8);
    const again = await claimHost(db, (await instance('numa', { vcpus: 2 })).id, over, LIVE);
    expect(again.cpuset).toEqual([0, 1]);
  });

  test('a move\'s commit: the target claim becomes the instance\'s, the source\'s capacity goes back, a stale copy recorded on the target is forgotten', async () => {
    await zone('move');
    await db('hosts').insert([host('move-1', 'move'), host('move-2', 'move')]);
    const row = await instance('move', { vcpus: 2, requested_host_id: 'move-1' });
    await claimHost(db, row.id, ratios, LIVE);
    const target = await claimTargetHost(db, row.id, 'move-2', ratios, LIVE);
    expect(target.hostId).toBe('move-2');
    // An earlier visit's copy on the target (the move's build replaced it), and one on a third host.
    await db('stale_copies').insert([{ instance_id: row.id, host_id: 'move-2', kind: 'docker' }, { instance_id: row.id, host_id: 'move-1', kind: 'docker' }]);
    expect(await commitTargetHost(db, row.id)).toEqual({ from: 'move-1', to: 'move-2' });
    expect(await db('instances').where({ id: row.id }).first()).toMatchObject({ host_id: 'move-2', target_host_id: null, cpuset: target.cpuset });
    const used = Object.fromEntries((await db('hosts').where({ zone_id: 'move' }).select('id', 'used_vcpus')).map((h) => [h.id, h.used_vcpus]));
    expect(used).toEqual({ 'move-1': 0, 'move-2': 2 });
    expect(await db('stale_copies').where({ instance_id: row.id }).pluck('host_id')).toEqual(['move-1']);
  });

  test('the app counts placement reads follow claims, moves, releases, app changes and deletes; a count that drifted is found', async () => {
    await zone('counts');
    await db('hosts').insert([host('counts-1', 'counts'), host('counts-2', 'counts')]);
    const kept = async () => Object.fromEntries((await db('host_app_counts').where({ zone_id: 'counts' }).orderBy(['host_id', 'app']))
      .map((r) => [`${r.host_id}/${r.app}`, r.n]));
    const zoneKept = async () => Object.fromEntries((await db('zone_app_counts').where({ zone_id: 'counts' })).map((r) => [r.app, r.hosts]));
    const a = await instance('counts', { app: 'web', requested_host_id: 'counts-1' });
    const b = await instance('counts', { app: 'web', requested_host_id: 'counts-1' });
    const c = await instance('counts', { app: 'db', requested_host_id: 'counts-2' });
    for (const r of [a, b, c]) await claimHost(db, r.id, ratios, LIVE);
    expect(await kept()).toEqual({ 'counts-1/web': 2, 'counts-2/db': 1 });
    expect(await zoneKept()).toEqual({ web: 1, db: 1 });
    expect((await db('zone_host_counts').where({ zone_id: 'counts' }).first()).hosts).toBe(2);
    // A move counts at its target from the commit on.
    await claimTargetHost(db, b.id, 'counts-2', ratios, LIVE);
    expect(await kept()).toEqual({ 'counts-1/web': 2, 'counts-2/db': 1 });
    await commitTargetHost(db, b.id);
    expect(await kept()).toEqual({ 'counts-1/web': 1, 'counts-2/db': 1, 'counts-2/web': 1 });
    expect(await zoneKept()).toEqual({ web: 2, db: 1 });
    await releaseHost(db, a.id);
    await db('instances').where({ id: c.id }).update({ app: 'cache' });
    expect(await kept()).toEqual({ 'counts-2/cache': 1, 'counts-2/web': 1 });
    expect(await zoneKept()).toEqual({ web: 1, cache: 1 });
    await db('instances').whereIn('id', [b.id, c.id]).delete();
    expect(await kept()).toEqual({});
    expect(await zoneKept()).toEqual({});
    expect(await appCountDrift(db)).toEqual([]);
    // The invariant checker's view: a count changed behind the triggers' back is a violation.
    const d = await instance('counts', { app: 'web' });
    await claimHost(db, d.id, ratios, LIVE);
    await db('host_app_counts').where({ app: 'web', zone_id: 'counts' }).increment('n', 1);
    expect(await appCountDrift(db)).toEqual([expect.stringMatching(/^host counts-\d counts 2 of app web, it has 1$/)]);
    await db('host_app_counts').where({ app: 'web', zone_id: 'counts' }).decrement('n', 1);
    expect(await appCountDrift(db)).toEqual([]);
  });

  test('capacity is re-checked under the lock: 12 concurrent claims on room for 8 give exactly 8', async () => {
    await zone('tight');
    await db('hosts').insert(host('tight-1', 'tight', { memory_mb: 8 * 512, vcpus: 64 }));
    const rows = await Promise.all(Array.from({ length: 12 }, () => instance('tight')));
    const results = await Promise.allSettled(rows.map((r) => claimHost(db, r.id, ratios, LIVE)));
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(8);
    const refused = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
    expect(refused).toHaveLength(4);
    for (const r of refused) {
      expect(r.reason).toBeInstanceOf(CapacityError);
      expect(r.reason.message).toBe('no host fits: 1 host(s) considered, 1 failed "free memory"');
    }
    expect((await db('hosts').where({ id: 'tight-1' }).first()).used_memory_mb).toBe(String(8 * 512));
  });

  test('the ranking read (filters and order in SQL, best 64) agrees with the pure filters and weighers, with and without the rank index', async () => {
    await zone('big');
    const hosts = Array.from({ length: 160 }, (_, i) => host(`big-${String(i).padStart(3, '0')}`, 'big', {
      vcpus: [4, 8, 16][i % 3], memory_mb: [8192, 16384][i % 2], used_vcpus: (i * 7) % 5, used_memory_mb: ((i * 13) % 7) * 512,
      state: i % 17 === 0 ? 'disabled' : 'enabled', kinds: i % 11 === 0 ? ['kvm'] : ['docker'],
      last_heartbeat_at: i % 19 === 0 ? new Date(Date.now() - 3600_000) : new Date(),
      // The four hosts without 'all' (below): fitting, and the fullest, so that no walk of the best reaches them.
      ...(i % 40 === 5 ? { state: 'enabled', kinds: ['docker'], last_heartbeat_at: new Date(), used_vcpus: 3, used_memory_mb: 8192 - 1024 } : {}),
    }));
    await db('hosts').insert(hosts);
    // 'api' on a quarter of the hosts (enough fit without it); 'all' on all but four (the count on each decides).
    for (let i = 0; i < 40; i++) await instance('big', { app: 'api', host_id: `big-${String((i * 3) % 160).padStart(3, '0')}`, cpuset: '{0}' });
    for (let i = 0; i < 160; i++) if (i % 40 !== 5) await instance('big', { app: 'all', host_id: `big-${String(i).padStart(3, '0')}`, cpuset: '{1}' });
    // 'every' on every host, twice on every seventh: the zone's least count is 1, which the database keeps.
    for (let i = 0; i < 160; i++) {
      for (let k = 0; k < (i % 7 === 0 ? 2 : 1); k++) await instance('big', { app: 'every', host_id: `big-${String(i).padStart(3, '0')}`, cpuset: '{2}' });
    }
    // A best 16 walks 64 hosts, fewer than the zone's: with 'all' the walk is not enough and the whole
    // zone is read again; with 'every' the zone's least count shows that the walk decides.
    const cases = [null, 'api', 'all', 'every'].flatMap((app) => [false, true].flatMap((indexed) => [64, 16].map((limit) => ({ app, indexed, limit }))));
    for (const { app, indexed, limit } of cases) {
      const index = await ensureRankIndex(db, ratios);
      if (!indexed) await db.raw('drop index ??', [index]);
      const probe = { ...(await instance('big', { app })), requested_host_id: null, requested_ip: null } as unknown as InstanceRow;
      const sql = indexed ? await db.transaction(async (trx) => {
        // With no sequential scan to fall back on, the plan shows that the walk is the rank index's.
        await trx.raw('set local enable_seqscan = off');
        const read: { sql: string; bindings: unknown[] }[] = [];
        trx.on('query', (q: { sql: string; bindings: unknown[] }) => read.push(q));
        const got = await topCandidates(trx, probe, ratios, LIVE, limit);
        const plan = await trx.raw(`explain ${read[0].sql.replace(/\$\d+/g, '?')}`, read[0].bindings as Knex.RawBinding[]);
        expect(plan.rows.map((r: Record<string, string>) => r['QUERY PLAN']).join('\n')).toContain(index);
        return got;
      }) : await (async () => {
        const read: unknown[] = [];
        const count = (q: unknown) => read.push(q);
        db.on('query', count);
        try {
          return await topCandidates(db, probe, ratios, LIVE, limit);
        } finally {
          db.off('query', count);
          expect({ app, limit, reads: read.length }).toEqual({ app, limit, reads: app === 'all' && limit === 16 ? 2 : 1 });
        }
      })();
      const all = await db('hosts').where({ zone_id: 'big' });
      const counts = new Map<string, number>();
      for (const r of await db('instances').where({ zone_id: 'big', app: app ?? '' }).whereNotNull('host_id').whereNot({ id: probe.id })) {
        counts.set(r.host_id, (counts.get(r.host_id) ?? 0) + 1);
      }
      const pure = rankHosts(all.map((h) => ({
        id: h.id, zoneId: h.zone_id, state: h.state, kinds: h.kinds, vcpus: h.vcpus, memoryMb: Number(h.memory_mb), diskGb: Number(h.disk_gb),
        usedVcpus: h.used_vcpus, usedMemoryMb: Number(h.used_memory_mb), usedDiskGb: Number(h.used_disk_gb), physicalCpus: h.vcpus,
        live: Date.now() - new Date(h.last_heartbeat_at).getTime() <= LIVE * 1000, appCount: app ? counts.get(h.id) ?? 0 : 0,
      })), { zoneId: 'big', kind: 'docker', vcpus: 1, memoryMb: 512, diskGb: 1, app, pinnedHostId: null }, ratios);
      expect(pure.hosts.length).toBeGreaterThan(100);
      expect(sql.map((h) => h.id)).toEqual(pure.hosts.slice(0, limit).map((h) => h.id));
      expect(rankHosts(sql, { zoneId: 'big', kind: 'docker', vcpus: 1, memoryMb: 512, diskGb: 1, app, pinnedHostId: null }, ratios).hosts.map((h) => h.id))
        .toEqual(pure.hosts.slice(0, limit).map((h) => h.id));
    }
  });

  test('one app spreads over the two real hosts; no host fits -> 422 saying why, nothing written', async () => {
    const a = await admin.post('/v1/instances', createBody('spread-1', { app: 'spread' }));
    expect(await waitForOperation(admin, a.body.operation.id)).toMatchObject({ state: 'succeeded' });
    const b = await admin.post('/v1/instances', createBody('spread-2', { app: 'spread' }));
    expect(await waitForOperation(admin, b.body.operation.id)).toMatchObject({ state: 'succeeded' });
    const hostsOf = [(await admin.get(`/v1/instances/${a.body.instance.id}`)).body.hostId, (await admin.get(`/v1/instances/${b.body.instance.id}`)).body.hostId];
    expect(hostsOf.sort()).toEqual([HOST_A.id, HOST_B.id]);

    const before = (await db('instances')).length;
    const huge = await admin.post('/v1/instances', createBody('too-big', { memoryMb: 512 * 1024 }));
    expect(huge.status).toBe(422);
    expect(huge.body.detail).toMatch(/^no host fits: \d+ host\(s\) considered, 2 failed "free memory"/);
    expect(huge.body.rejectedBy['free memory']).toBe(2);
    expect((await db('instances')).length).toBe(before);
    for (const r of [a, b]) {
      const del = await admin.del(`/v1/instances/${r.body.instance.id}`);
      expect((await waitForOperation(admin, del.body.operation.id)).state).toBe('succeeded');
    }
  });
});
