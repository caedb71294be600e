import crypto from 'node:crypto';
import type { Knex } from 'knex';
import { apiClient, createBody, deleteInstances, testDb, waitForOperation, type ApiClient } from '../helpers/platform';
import { HOST_A, HOST_B, TEST_ZONE } from '../helpers/env';
import { inside } from '../helpers/hosts';
import { createUser, issueToken } from '../../db/users';
import { putGrant } from '../../db/grants';

/**
 * Images made by users: from a snapshot of their container, theirs and private until an admin
 * makes it public, counted in their snapshot quota, outliving the snapshot it was made from.
 */
describe('images made by users', () => {
  let db: Knex;
  let admin: ApiClient;
  let owner: ApiClient;
  let other: ApiClient;
  let ownerId: string;
  const made: string[] = [];
  const suffix = crypto.randomBytes(3).toString('hex');

  beforeAll(async () => {
    db = testDb();
    admin = apiClient();
    const u = await createUser(db, `img-owner-${suffix}`, 'user');
    const v = await createUser(db, `img-other-${suffix}`, 'user');
    ownerId = u.id;
    for (const x of [u, v]) await putGrant(db, x.id, TEST_ZONE.id, { maxVcpus: 4, maxMemoryMb: 1024, maxInstances: 4, maxSnapshots: 2, maxSnapshotGb: 10 });
    owner = apiClient((await issueToken(db, u.id)).token);
    other = apiClient((await issueToken(db, v.id)).token);
  });

  afterAll(async () => {
    await deleteInstances(admin, made);
    await db.destroy();
  }, 180_000);

  async function container(api: ApiClient, name: string, image = 'busybox') {
    const res = await api.post('/v1/instances', createBody(name, { image }));
    expect(res.status).toBe(202);
    made.push(res.body.instance.id);
    expect(await waitForOperation(api, res.body.operation.id, 180_000)).toMatchObject({ state: 'succeeded' });
    return (await db('instances').where({ id: res.body.instance.id }).first());
  }

  test('a container snapshot becomes the owner\'s private image; it runs after the snapshot is gone; others see it only once public', async () => {
    const source = await container(owner, `img-src-${suffix}`);
    const host = source.host_id === HOST_A.id ? HOST_A : HOST_B;
    await inside(host, 'docker', source.id, `echo made-by-${suffix} > /made-by-user`);
    const snap = await owner.post(`/v1/instances/${source.id}/snapshots`);
    expect(await waitForOperation(owner, snap.body.operation.id, 180_000)).toMatchObject({ state: 'succeeded' });

    // Someone else's snapshot is not theirs to make an image of.
    expect((await other.post('/v1/images', { name: `stolen-${suffix}`, fromSnapshot: snap.body.snapshot.id })).status).toBe(404);
    const res = await owner.post('/v1/images', { name: `mine-${suffix}`, fromSnapshot: snap.body.snapshot.id });
    expect(res.status).toBe(202);
    expect(res.body.image).toMatchObject({ state: 'pending', visibility: 'private', ownerId, kind: 'docker' });
    expect(await waitForOperation(owner, res.body.operation.id, 120_000)).toMatchObject({ state: 'succeeded', type: 'make-image' });
    const image = (await owner.get(`/v1/images/${res.body.image.id}`)).body;
    expect(image).toMatchObject({ state: 'ready', location: expect.stringContaining(`/vcloud/mine-${suffix}:`), sourceSnapshotId: snap.body.snapshot.id });

    // The image counts as a snapshot in the owner's quota: with the snapshot, both of two.
    const grants = (await admin.get(`/v1/users/${ownerId}/grants`)).body.items;
    expect(grants.find((g: { zone: string }) => g.zone === TEST_ZONE.id).usage).toMatchObject({ snapshots: 2 });
    expect((await owner.post(`/v1/instances/${source.id}/snapshots`)).body.exceeded).toEqual(['snapshots']);

    // Private: the other user neither lists, reads, uses nor deletes it.
    expect((await other.get('/v1/images?limit=1000')).body.items.map((i: { id: string }) => i.id)).not.toContain(image.id);
    expect((await other.get(`/v1/images/${image.id}`)).status).toBe(404);
    expect((await other.post('/v1/instances', createBody(`borrow-${suffix}`, { image: image.name }))).status).toBe(404);
    expect((await other.del(`/v1/images/${image.id}`)).status).toBe(404);
    expect((await owner.get('/v1/images?mine=true')).body.items.map((i: { id: string }) => i.id)).toEqual([image.id]);

    // The snapshot goes; the image keeps its own tag and runs.
    expect((await owner.del(`/v1/instances/${source.id}/snapshots/${snap.body.snapshot.id}`)).status).toBe(204);
    const copy = await container(owner, `img-copy-${suffix}`, image.name);
    const copyHost = copy.host_id === HOST_A.id ? HOST_A : HOST_B;
    expect((await inside(copyHost, 'docker', copy.id, 'cat /made-by-user')).trim()).toBe(`made-by-${suffix}`);

    // An admin makes it public: now the other user sees it; only its owner (or an admin) deletes it.
    expect((await owner.raw('PATCH', `/v1/images/${image.id}`, { visibility: 'public' })).status).toBe(403);
    expect((await admin.raw('PATCH', `/v1/images/${image.id}`, { visibility: 'public' })).body.visibility).toBe('public');
    expect((await other.get(`/v1/images/${image.id}`)).status).toBe(200);
    expect((await other.del(`/v1/images/${image.id}`)).status).toBe(403);
    expect((await owner.del(`/v1/images/${image.id}`)).status).toBe(409); // an instance runs from it
    const del = await owner.del(`/v1/instances/${copy.id}`);
    expect(await waitForOperation(owner, del.body.operation.id)).toMatchObject({ state: 'succeeded' });
    expect((await owner.del(`/v1/images/${image.id}`)).status).toBe(204);
    const after = (await admin.get(`/v1/users/${ownerId}/grants`)).body.items;
    expect(after.find((g: { zone: string }) => g.zone === TEST_ZONE.id).usage).toMatchObject({ snapshots: 0 });
  }, 600_000);

  test('a VM snapshot becomes the owner\'s bootable template: a VM made from it boots with the file the first VM wrote', async () => {
    const res = await owner.post('/v1/instances', createBody(`vimg-src-${suffix}`, { kind: 'kvm', image: 'busybox-vm', memoryMb: 160 }));
    expect(res.status).toBe(202);
    made.push(res.body.instance.id);
    expect(await waitForOperation(owner, res.body.operation.id, 180_000)).toMatchObject({ state: 'succeeded' });
    const source = await db('instances').where({ id: res.body.instance.id }).first();
    const host = source.host_id === HOST_A.id ? HOST_A : HOST_B;
    await inside(host, 'kvm', source.id, `echo vm-made-by-${suffix} > /made-by-user; sync`);
    const snap = await owner.post(`/v1/instances/${source.id}/snapshots`);
    expect(await waitForOperation(owner, snap.body.operation.id, 180_000)).toMatchObject({ state: 'succeeded' });

    const made2 = await owner.post('/v1/images', { name: `vm-mine-${suffix}`, fromSnapshot: snap.body.snapshot.id });
    expect(made2.status).toBe(202);
    expect(made2.body.image).toMatchObject({ state: 'pending', visibility: 'private', ownerId, kind: 'tgz' });
    expect(await waitForOperation(owner, made2.body.operation.id, 300_000)).toMatchObject({ state: 'succeeded', type: 'make-image' });
    const image = (await owner.get(`/v1/images/${made2.body.image.id}`)).body;
    expect(image).toMatchObject({ state: 'ready', kind: 'tgz', sourceSnapshotId: snap.body.snapshot.id });
    expect(image.boot).toMatchObject({ kernel: expect.stringMatching(/^boot\//), initrd: expect.stringMatching(/^boot\//) });

    // The source goes (and its snapshot with it); a VM from the image boots with the file.
    const del = await owner.del(`/v1/instances/${source.id}`);
    expect(await waitForOperation(owner, del.body.operation.id)).toMatchObject({ state: 'succeeded' });
    const copy = await owner.post('/v1/instances', createBody(`vimg-copy-${suffix}`, { kind: 'kvm', image: image.name, memoryMb: 160 }));
    expect(copy.status).toBe(202);
    made.push(copy.body.instance.id);
    expect(await waitForOperation(owner, copy.body.operation.id, 180_000)).toMatchObject({ state: 'succeeded' });
    const row = await db('instances').where({ id: copy.body.instance.id }).first();
    const copyHost = row.host_id === HOST_A.id ? HOST_A : HOST_B;
    expect((await inside(copyHost, 'kvm', row.id, 'cat /made-by-user')).trim()).toBe(`vm-made-by-${suffix}`);
    expect((await inside(copyHost, 'kvm', row.id, 'hostname')).trim()).toBe(row.hostname);
  }, 600_000);
});
