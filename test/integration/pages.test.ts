import crypto from 'node:crypto';
import type { Knex } from 'knex';
import { apiClient, seedIds, testDb, type ApiClient } from '../helpers/platform';
import { TEST_ZONE } from '../helpers/env';
import { createUser, issueToken } from '../../db/users';
import { putGrant, listGrants } from '../../db/grants';
import { listInstances } from '../../db/instances';
import { encodeCursor } from '../../db/page';

/**
 * Every list is read a page at a time (`limit`, `cursor`, `next`), in a fixed order that ends in a
 * unique column, so rows with the same time are neither skipped nor shown twice. The rows here are
 * the test's own, in a zone of its own with no host (failed instances hold nothing), removed after.
 */
const ZONE = 'pages';

describe('paginated lists', () => {
  let db: Knex;
  let admin: ApiClient;
  let user: ApiClient;
  let userId: string;
  let otherId: string;
  const mine: string[] = [];
  let deletedId: string;
  let poolId: string;

  beforeAll(async () => {
    db = testDb();
    admin = apiClient();
    const { imageId, adminId } = await seedIds(db);
    await db('zones').insert({ id: ZONE, subnet: '10.234.0.0/24', gateway: '10.234.0.1', bridge: 'vcpages0' });
    const suffix = crypto.randomBytes(3).toString('hex');
    const u = await createUser(db, `pages-${suffix}`, 'user');
    const other = await createUser(db, `pages-other-${suffix}`, 'user');
    userId = u.id;
    otherId = other.id;
    user = apiClient((await issueToken(db, u.id)).token);
    // Seven at the very same time: only the id tells them apart, and the cursor has to carry it.
    const at = new Date('2026-01-02T03:04:05.678Z');
    const row = (owner: string, name: string, state: string) => ({
      id: crypto.randomUUID(), name, owner_id: owner, zone_id: ZONE, kind: 'docker', image_id: imageId, vcpus: 1, memory_mb: 64,
      disk_gb: 1, state, failure: 'made by the pages test', created_at: at, updated_at: at,
    });
    const rows = [...Array.from({ length: 7 }, (_, i) => row(u.id, `pages-${i}`, 'failed')), row(u.id, 'pages-gone', 'deleted'), row(other.id, 'pages-theirs', 'failed')];
    await db('instances').insert(rows);
    mine.push(...rows.slice(0, 7).map((r) => r.id));
    deletedId = rows[7].id;
    await db('operations').insert(rows.slice(0, 3).map((r, i) => ({
      id: crypto.randomUUID(), type: i === 0 ? 'delete' : 'create', workflow_id: `pages-test-${r.id}`, instance_id: r.id, state: 'failed',
      requested_by: adminId, created_at: at, finished_at: at,
    })));
    const pool = await admin.post(`/v1/zones/${ZONE}/pools`, { firstIp: '10.234.0.10', lastIp: '10.234.0.20', reserved: ['10.234.0.15'] });
    expect(pool.status).toBe(201);
    poolId = pool.body.id;
  });

  afterAll(async () => {
    const ids = db('instances').where({ zone_id: ZONE }).select('id');
    await db('operations').whereIn('instance_id', ids).delete();
    await db('ip_addresses').where({ zone_id: ZONE }).delete();
    await db('instances').where({ zone_id: ZONE }).delete();
    for (const t of ['ip_pools', 'zone_grants']) await db(t).where({ zone_id: ZONE }).delete();
    await db('zones').where({ id: ZONE }).delete();
    await db.destroy();
  });

  /** Every page of a list, following `next` until it is null. */
  async function walk(client: ApiClient, path: string, limit: number): Promise<{ pages: number[]; items: any[] }> {
    const pages: number[] = [];
    const items: any[] = [];
    let cursor: string | null = null;
    for (let i = 0; i < 50; i++) {
      const sep = path.includes('?') ? '&' : '?';
      const res = await client.get(`${path}${sep}limit=${limit}${cursor ? `&cursor=${cursor}` : ''}`);
      expect(res.status).toBe(200);
      pages.push(res.body.items.length);
      items.push(...res.body.items);
      cursor = res.body.next;
      if (cursor === null) return { pages, items };
    }
    throw new Error(`${path} never ended`);
  }

  test('instances: pages of 3 give each of seven created at the same instant once, newest first then by id; all=true adds the deleted one', async () => {
    const { pages, items } = await walk(user, '/v1/instances', 3);
    expect(pages).toEqual([3, 3, 1]);
    const ids = items.map((i: { id: string }) => i.id);
    expect(ids).toEqual([...mine].sort().reverse());
    const all = await walk(user, '/v1/instances?all=true', 3);
    expect(all.items.map((i: { id: string }) => i.id).sort()).toEqual([...mine, deletedId].sort());
    expect(all.items.some((i: { ownerId: string }) => i.ownerId === otherId)).toBe(false);
  });

  test('pool addresses: in address order across pages, with the state filter', async () => {
    const { pages, items } = await walk(admin, `/v1/pools/${poolId}/addresses`, 4);
    expect(pages).toEqual([4, 4, 3]);
    expect(items.map((a: { address: string }) => a.address)).toEqual(Array.from({ length: 11 }, (_, i) => `10.234.0.${10 + i}`));
    const free = await walk(admin, `/v1/pools/${poolId}/addresses?state=free`, 4);
    expect(free.items).toHaveLength(10);
    expect(free.items.every((a: { state: string }) => a.state === 'free')).toBe(true);
  });

  test('operations: an admin filters by instance, state and type; a user sees those on their instances, nobody else\'s', async () => {
    const failedCreates = await walk(admin, `/v1/operations?state=failed&type=create&instance=${mine[1]}`, 10);
    expect(failedCreates.items).toEqual([expect.objectContaining({ instanceId: mine[1], type: 'create', state: 'failed', workflowId: `pages-test-${mine[1]}` })]);
    const theirs = await walk(user, '/v1/operations', 2);
    expect(theirs.pages).toEqual([2, 1]);
    expect(theirs.items.map((o: { instanceId: string }) => o.instanceId).sort()).toEqual(mine.slice(0, 3).sort());
    expect((await apiClient((await issueToken(db, otherId)).token).get('/v1/operations')).body).toEqual({ items: [], next: null });
  });

  test('zones, users, images, hosts, pools, tokens, grants, events, actions, snapshots and runs answer pages', async () => {
    const instance = mine[0];
    for (const path of ['/v1/zones', '/v1/users', '/v1/images', '/v1/hosts', `/v1/zones/${ZONE}/pools`, `/v1/users/${userId}/tokens`,
      `/v1/users/${userId}/grants`, `/v1/instances/${instance}/events`, `/v1/instances/${instance}/actions`, `/v1/instances/${instance}/snapshots`,
      '/v1/ip-health/runs', '/v1/audit']) {
      const res = await admin.get(`${path}?limit=1`);
      expect([path, res.status]).toEqual([path, 200]);
      expect(res.body.items.length).toBeLessThanOrEqual(1);
      expect(res.body).toHaveProperty('next');
    }
    const zones = await walk(admin, '/v1/zones', 1);
    expect(zones.items.map((z: { id: string }) => z.id)).toContain(ZONE);
    expect(new Set(zones.items.map((z: { id: string }) => z.id)).size).toBe(zones.items.length);
  });

  test('a bad limit or cursor is a 400 problem, never a 500', async () => {
    const bad = ['limit=0', 'limit=1001', 'limit=ten', 'cursor=x', `cursor=${encodeCursor(['x', 'y'])}`, `cursor=${encodeCursor(['only-one'])}`,
      `cursor=${Buffer.from('{"a":1}').toString('base64url')}`];
    for (const q of bad) {
      const res = await user.get(`/v1/instances?${q}`);
      expect([q, res.status, res.contentType]).toEqual([q, 400, expect.stringContaining('application/problem+json')]);
    }
    expect((await admin.get(`/v1/pools/${poolId}/addresses?cursor=${encodeCursor(['ten'])}`)).status).toBe(400);
  });

  test('no N+1: a page of grants with usage, or of instances, costs the same number of queries for one row as for several', async () => {
    const queries = async (fn: () => Promise<unknown>) => {
      let n = 0;
      const count = () => { n++; };
      db.on('query', count);
      try { await fn(); } finally { db.removeListener('query', count); }
      return n;
    };
    await putGrant(db, userId, ZONE, { maxVcpus: 4, maxMemoryMb: 1024, maxInstances: 4 });
    const one = await queries(() => listGrants(db, userId, { limit: 100 }));
    await putGrant(db, userId, TEST_ZONE.id, { maxVcpus: 4, maxMemoryMb: 1024, maxInstances: 4 });
    const two = await queries(() => listGrants(db, userId, { limit: 100 }));
    expect((await listGrants(db, userId, { limit: 100 })).items).toHaveLength(2);
    expect(two).toBe(one);
    expect(await queries(() => listInstances(db, { ownerId: userId }, { limit: 1 }, (r) => r))).toBe(1);
    expect(await queries(() => listInstances(db, { ownerId: userId }, { limit: 100 }, (r) => r))).toBe(1);
    await db('zone_grants').where({ user_id: userId }).delete();
  });
});
