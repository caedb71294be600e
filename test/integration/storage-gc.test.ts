import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { Knex } from 'knex';
import { apiClient, createBody, testDb, waitForOperation, type ApiClient } from '../helpers/platform';
import { DATA, HOST_A, TEST_STORE } from '../helpers/env';
import { inside } from '../helpers/hosts';
import { beginRegistryGc, endRegistryGc } from '../../db/registry-maintenance';
import { createUser, issueToken } from '../../db/users';

/**
 * Deleting snapshots and images gives the disk back: the storage garbage collection (a scheduled
 * workflow, or an admin's operation) runs the registry's own collection for the blobs no manifest
 * names, and removes the image store's files no image or snapshot names. Pushes and a collection
 * exclude each other.
 */
const REGISTRY_DIR = path.join(DATA, 'registry');
const MB = 2 ** 20;

async function dirBytes(dir: string): Promise<number> {
  let total = 0;
  for (const e of await fs.promises.readdir(dir, { withFileTypes: true, recursive: true })) {
    if (e.isFile()) total += (await fs.promises.lstat(path.join(e.parentPath, e.name))).size;
  }
  return total;
}

describe('storage garbage collection', () => {
  let db: Knex;
  let admin: ApiClient;
  let instanceId: string;

  beforeAll(async () => {
    db = testDb();
    admin = apiClient();
    const made = await admin.post('/v1/instances', createBody('gc-source', { host: HOST_A.id }));
    expect(made.status).toBe(202);
    instanceId = made.body.instance.id;
    expect(await waitForOperation(admin, made.body.operation.id)).toMatchObject({ state: 'succeeded' });
  }, 180_000);

  afterAll(async () => {
    await endRegistryGc(db, 'storage-gc-test');
    const del = await admin.del(`/v1/instances/${instanceId}`);
    if (del.status === 202) await waitForOperation(admin, del.body.operation.id);
    await db.destroy();
  }, 180_000);

  const collect = async () => {
    const res = await admin.post('/v1/storage/gc');
    expect(res.status).toBe(202);
    const op = await waitForOperation(admin, res.body.operation.id, 300_000);
    expect(op).toMatchObject({ state: 'succeeded', type: 'storage-gc' });
    return op.result as { registry: { collected: boolean; reason?: string; bytesBefore: number; bytesAfter: number }; store: { removed: string[] } };
  };

  test('a deleted container snapshot\'s 24 MB layer leaves the registry\'s directory; unnamed old store files go, named and recent ones stay', async () => {
    // A layer of its own: random bytes no other image shares, which gzip cannot shrink.
    await inside(HOST_A, 'docker', instanceId, 'dd if=/dev/urandom of=/gc-payload bs=1M count=24 2>/dev/null && sync');
    const snap = await admin.post(`/v1/instances/${instanceId}/snapshots`);
    expect(snap.status).toBe(202);
    expect(await waitForOperation(admin, snap.body.operation.id, 180_000)).toMatchObject({ state: 'succeeded' });
    await collect(); // whatever earlier tests left unnamed goes first, so what follows measures this snapshot alone
    const before = await dirBytes(REGISTRY_DIR);

    const orphan = path.join(TEST_STORE, `orphan-${crypto.randomUUID()}.tgz`);
    const recent = path.join(TEST_STORE, `recent-${crypto.randomUUID()}.tgz`);
    for (const f of [orphan, recent]) fs.writeFileSync(f, crypto.randomBytes(1024));
    const old = new Date(Date.now() - 3 * 3600_000);
    fs.utimesSync(orphan, old, old);
    const named = (await db('images').whereNot({ state: 'deleted' }).pluck('location')).filter((l: string) => l.startsWith(TEST_STORE));
    for (const f of named) fs.utimesSync(f, old, old);

    expect((await admin.del(`/v1/instances/${instanceId}/snapshots/${snap.body.snapshot.id}`)).status).toBe(204);
    const result = await collect();
    expect(result.registry).toMatchObject({ collected: true });
    const after = await dirBytes(REGISTRY_DIR);
    expect(before - after).toBeGreaterThan(20 * MB);
    expect(result.registry.bytesBefore - result.registry.bytesAfter).toBeGreaterThan(20 * MB);
    expect(result.store.removed).toContain(path.basename(orphan));
    expect(fs.existsSync(orphan)).toBe(false);
    expect(fs.existsSync(recent)).toBe(true);
    for (const f of named) expect(fs.existsSync(f)).toBe(true);
    fs.rmSync(recent);
    // The images still run: what a live image names was kept.
    const again = await admin.post('/v1/instances', createBody('gc-after', { host: HOST_A.id }));
    expect(await waitForOperation(admin, again.body.operation.id)).toMatchObject({ state: 'succeeded' });
    const del = await admin.del(`/v1/instances/${again.body.instance.id}`);
    expect(await waitForOperation(admin, del.body.operation.id)).toMatchObject({ state: 'succeeded' });
  }, 600_000);

  test('a push waits while a collection holds the registry, and a collection does not start while a push may run', async () => {
    expect(await beginRegistryGc(db, 'storage-gc-test', 120)).toEqual({ started: true });
    const snap = await admin.post(`/v1/instances/${instanceId}/snapshots`);
    expect(snap.status).toBe(202);
    // Held: the snapshot's first step retries (an infrastructure wait) and pushes nothing.
    await new Promise((r) => setTimeout(r, 6_000));
    expect((await admin.get(`/v1/operations/${snap.body.operation.id}`)).body.state).toBe('running');
    expect(await db('snapshots').where({ id: snap.body.snapshot.id }).first()).toMatchObject({ state: 'pending', location: null });
    // Another collection cannot take it meanwhile; the snapshot's operation keeps this one out once given back.
    expect((await beginRegistryGc(db, 'someone-else', 120)).started).toBe(false);
    await endRegistryGc(db, 'storage-gc-test');
    expect(await beginRegistryGc(db, 'someone-else', 120)).toMatchObject({ started: false, reason: expect.stringMatching(/may push/) });
    expect(await waitForOperation(admin, snap.body.operation.id, 180_000)).toMatchObject({ state: 'succeeded' });
    expect(await beginRegistryGc(db, 'someone-else', 120)).toEqual({ started: true });
    await endRegistryGc(db, 'someone-else');
    expect((await admin.del(`/v1/instances/${instanceId}/snapshots/${snap.body.snapshot.id}`)).status).toBe(204);
  }, 300_000);

  test('a user may not run it', async () => {
    const u = await createUser(db, `gc-user-${crypto.randomBytes(3).toString('hex')}`, 'user');
    expect((await apiClient((await issueToken(db, u.id)).token).post('/v1/storage/gc')).status).toBe(403);
  });
});
