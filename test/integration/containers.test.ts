import Docker from 'dockerode';
import type { Knex } from 'knex';
import { apiClient, assertAddressInvariants, createBody, pings, temporalClient, testDb, waitForOperation, type ApiClient } from '../helpers/platform';
import fs from 'node:fs';
import { BUILT_MANIFEST, HOST_A, TEST_CONTROL_QUEUE, TEST_POOL } from '../helpers/env';
import { macFromIp, ipToInt } from '../../lib/net';
import { run } from '../../host/run';
import { createUser, issueToken } from '../../db/users';
import { putGrant } from '../../db/grants';
import { hostVethExists } from '../../host/bridge-plumbing';
import type { Client } from '@temporalio/client';

const docker = new Docker({ socketPath: HOST_A.dockerSocket });
const containerOf = (id: string) => docker.getContainer(`vc-${id}`);
const exists = (id: string) => containerOf(id).inspect().then(() => true, () => false);

describe('containers through the API, on the real engine', () => {
  let api: ApiClient;
  let db: Knex;
  let temporal: { client: Client; close: () => Promise<void> };
  let created: any;
  let usedBefore: number;

  beforeAll(async () => {
    api = apiClient();
    db = testDb();
    temporal = await temporalClient();
  });
  afterAll(async () => {
    await temporal.close();
    await db.destroy();
  });

  test('create: runs on its host with pinned CPUs and memory limits, answers ping at its IP, host steps ran on host-test-a', async () => {
    usedBefore = (await db('hosts').where({ id: HOST_A.id }).first()).used_vcpus;
    const res = await api.post('/v1/instances', createBody('web-1', { app: 'web', vcpus: 1, memoryMb: 96, host: HOST_A.id }));
    expect(res.status).toBe(202);
    const { instance, operation } = res.body;
    expect(instance.state).toBe('pending');
    expect(operation.workflowId).toBe(`instance-${instance.id}-create`);
    expect(operation.temporalUiUrl).toContain(encodeURIComponent(operation.workflowId));

    const done = await waitForOperation(api, operation.id);
    expect(done).toMatchObject({ state: 'succeeded', hostId: HOST_A.id });
    created = (await api.get(`/v1/instances/${instance.id}`)).body;
    expect(created).toMatchObject({ state: 'running', hostId: HOST_A.id, mac: macFromIp(created.ip), hostname: `test-web-0-${created.ip.split('.')[3]}` });
    expect(ipToInt(created.ip)).toBeGreaterThanOrEqual(ipToInt(TEST_POOL[0]));
    expect(created.cpuset).toHaveLength(1);

    const info = await containerOf(instance.id).inspect();
    expect(info.State.Running).toBe(true);
    expect(info.HostConfig.CpusetCpus).toBe(created.cpuset.join(','));
    expect(info.HostConfig.Memory).toBe(96 * 1024 * 1024);
    expect(info.HostConfig.MemorySwap).toBe(96 * 1024 * 1024);
    expect(info.HostConfig.LogConfig).toEqual({ Type: 'json-file', Config: { 'max-size': '10m', 'max-file': '3' } });
    expect(info.HostConfig.NetworkMode).toBe('none');
    expect(info.Config.Labels['vcloud.instance']).toBe(instance.id);
    const inside = await run('docker', ['exec', `vc-${instance.id}`, 'ip', 'addr', 'show', 'eth0']);
    expect(inside).toContain(`${created.ip}/24`);
    expect(inside).toContain(created.mac);
    expect(await pings(created.ip)).toBe(true);

    const rows = await db('instances').where({ id: instance.id }).first();
    expect(rows.state).toBe('running');
    expect(await db('ip_addresses').where({ address: created.ip }).first()).toMatchObject({ state: 'allocated', instance_id: instance.id });

    const handle = temporal.client.workflow.getHandle(operation.workflowId);
    const history = await handle.fetchHistory();
    const scheduled = (history.events ?? []).filter((e) => e.activityTaskScheduledEventAttributes)
      .map((e) => ({ type: e.activityTaskScheduledEventAttributes!.activityType!.name, queue: e.activityTaskScheduledEventAttributes!.taskQueue!.name }));
    // One activity task, on the host's queue, does the host's work (its phases named in its heartbeats);
    // the control steps ran as local activities: take the operation, provision, settle, close.
    expect(scheduled).toEqual([{ type: 'buildInstance', queue: `host-${HOST_A.id}` }]);
    const markers = (history.events ?? []).filter((e) => e.markerRecordedEventAttributes);
    expect(markers.length).toBeGreaterThanOrEqual(4);
    expect((history.events ?? []).find((e) => e.workflowExecutionStartedEventAttributes)!.workflowExecutionStartedEventAttributes!.taskQueue!.name)
      .toBe(TEST_CONTROL_QUEUE);

    const description = await handle.describe();
    const attrs = Object.fromEntries(description.typedSearchAttributes.getAll().map((p) => [p.key.name, p.value]));
    expect(attrs).toMatchObject({ VcInstanceId: instance.id, VcHostId: HOST_A.id, VcZone: 'test', VcOperation: 'create' });
    await assertAddressInvariants(db);
  });

  test('a second mutating operation while one runs is 409, by the database constraint', async () => {
    const opId = '00000000-0000-4000-8000-000000000001';
    await db('operations').insert({ id: opId, type: 'resize', instance_id: created.id, workflow_id: 'test-blocker', state: 'running' });
    try {
      const res = await api.del(`/v1/instances/${created.id}`);
      expect(res.status).toBe(409);
      expect(res.contentType).toContain('application/problem+json');
      expect((await db('instances').where({ id: created.id }).first()).state).toBe('running');
      await expect(db('operations').insert({ id: '00000000-0000-4000-8000-000000000002', type: 'stop', instance_id: created.id, workflow_id: 'x', state: 'running' }))
        .rejects.toMatchObject({ code: '23505' });
    } finally {
      await db('operations').where({ id: opId }).update({ state: 'failed' });
    }
  });

  test('delete: the container and its veth are gone, the IP is free, the state is deleted', async () => {
    expect(await hostVethExists(created.id, HOST_A.id)).toBe(true);
    const res = await api.del(`/v1/instances/${created.id}`);
    expect(res.status).toBe(202);
    expect(res.body.operation.workflowId).toBe(`instance-${created.id}-delete`);
    expect((await waitForOperation(api, res.body.operation.id)).state).toBe('succeeded');
    expect(await exists(created.id)).toBe(false);
    expect(await hostVethExists(created.id, HOST_A.id)).toBe(false);
    expect(await db('ip_addresses').where({ address: created.ip }).first()).toMatchObject({ state: 'free', instance_id: null });
    expect((await api.get(`/v1/instances/${created.id}`)).body.state).toBe('deleted');
    expect(await pings(created.ip)).toBe(false);
    expect((await api.del(`/v1/instances/${created.id}`)).status).toBe(404);
    const host = await db('hosts').where({ id: HOST_A.id }).first();
    expect(host.used_vcpus).toBe(usedBefore);
  });

  test('a create whose host step fails (image not in the registry) fails with the reason and leaves nothing', async () => {
    const free = await db('ip_addresses').where({ state: 'free' }).count('* as n').first();
    const res = await api.post('/v1/instances', createBody('ghostly', { image: 'ghost', host: HOST_A.id }));
    expect(res.status).toBe(202);
    const op = await waitForOperation(api, res.body.operation.id);
    expect(op.state).toBe('failed');
    expect(op.error).toMatch(/ghost:1 is not in the registry/);
    const instance = (await api.get(`/v1/instances/${res.body.instance.id}`)).body;
    expect(instance).toMatchObject({ state: 'failed', ip: null });
    expect(instance.failure).toMatch(/not in the registry/);
    expect(await exists(res.body.instance.id)).toBe(false);
    expect(await hostVethExists(res.body.instance.id, HOST_A.id)).toBe(false);
    expect(await db('ip_addresses').where({ instance_id: res.body.instance.id })).toHaveLength(0);
    expect(await db('ip_addresses').where({ state: 'free' }).count('* as n').first()).toEqual(free);
    expect((await db('hosts').where({ id: HOST_A.id }).first()).used_vcpus).toBe(usedBefore);
    // The failed name is free again.
    expect((await db('instances').where({ id: res.body.instance.id }).first()).cpuset).toBeNull();
  });

  test('a user reads failures in the platform\'s words: no registry address, host path, host count or engine message; an admin reads them whole', async () => {
    const u = await createUser(db, `failures-${Date.now().toString(36)}`, 'user');
    await putGrant(db, u.id, 'test', { maxVcpus: 8, maxMemoryMb: 1 << 20, maxInstances: 4 });
    const user = apiClient((await issueToken(db, u.id)).token);
    const res = await user.post('/v1/instances', createBody('users-ghost', { image: 'ghost' }));
    expect(res.status).toBe(202);
    const mine = await waitForOperation(user, res.body.operation.id);
    expect(mine.state).toBe('failed');
    expect(mine.error).toBe(`the create failed: its host could not do it. An administrator can read the details of operation ${mine.id}.`);
    expect((await api.get(`/v1/operations/${mine.id}`)).body.error).toMatch(/ghost:1 is not in the registry/);
    const seen = (await user.get(`/v1/instances/${res.body.instance.id}`)).body;
    expect(seen.state).toBe('failed');
    expect(seen.failure).not.toMatch(/ghost|127\.0\.0\.1|registry/);
    expect((await api.get(`/v1/instances/${res.body.instance.id}`)).body.failure).toMatch(/not in the registry/);
    // No host fits: the user is told so, the admin is told how many hosts failed which filter.
    const huge = createBody('users-huge', { memoryMb: 500_000 });
    const refused = await user.post('/v1/instances', huge);
    expect(refused).toMatchObject({ status: 422, body: { detail: 'no host in the zone can take this instance now' } });
    expect(refused.body.rejectedBy).toBeUndefined();
    const told = await api.post('/v1/instances', huge);
    expect(told).toMatchObject({ status: 422, body: { detail: expect.stringMatching(/^no host fits: \d+ host\(s\) considered/), rejectedBy: expect.any(Object) } });
    // Where a template lies on the platform's disks is for admins.
    const images = (await user.get('/v1/images')).body.items;
    expect(images.find((i: { name: string }) => i.name === 'busybox-tgz').location).toBeUndefined();
    expect((await api.get('/v1/images')).body.items.find((i: { name: string }) => i.name === 'busybox-tgz').location).toMatch(/^\//);
    const del = await user.del(`/v1/instances/${res.body.instance.id}`);
    expect((await waitForOperation(user, del.body.operation.id)).state).toBe('succeeded');
  });

  test('the same Idempotency-Key twice gives one instance and the same answer; with another body it is refused', async () => {
    const headers = { 'Idempotency-Key': 'create-idem-1' };
    const [a, b] = await Promise.all([
      api.post('/v1/instances', createBody('idem-1', { host: HOST_A.id }), headers),
      api.post('/v1/instances', createBody('idem-1', { host: HOST_A.id }), headers),
    ]);
    expect([a.status, b.status]).toEqual([202, 202]);
    expect(b.body.instance.id).toBe(a.body.instance.id);
    expect(b.body.operation.id).toBe(a.body.operation.id);
    const again = await api.post('/v1/instances', createBody('idem-1', { host: HOST_A.id }), headers);
    expect(again.body.instance.id).toBe(a.body.instance.id);
    const other = await api.post('/v1/instances', createBody('idem-2'), headers);
    expect(other.status).toBe(422);
    expect(await db('instances').where({ name: 'idem-1' })).toHaveLength(1);
    expect(await db('instances').where({ name: 'idem-2' })).toHaveLength(0);
    expect((await waitForOperation(api, a.body.operation.id)).state).toBe('succeeded');
    const del = await api.del(`/v1/instances/${a.body.instance.id}`);
    expect((await waitForOperation(api, del.body.operation.id)).state).toBe('succeeded');
    expect(await exists(a.body.instance.id)).toBe(false);
    await assertAddressInvariants(db);
  });

  test('a retry under an Idempotency-Key gets the first answer before any check, though what it checked has changed', async () => {
    const manifest = JSON.parse(fs.readFileSync(BUILT_MANIFEST, 'utf8'));
    const image = await api.post('/v1/images', { name: 'idem-image', kind: 'docker', reference: manifest.docker.location });
    expect(image.status).toBe(201);
    const headers = { 'Idempotency-Key': 'create-idem-3' };
    const body = createBody('idem-3', { image: 'idem-image', host: HOST_A.id });
    const first = await api.post('/v1/instances', body, headers);
    expect(first.status).toBe(202);
    expect((await waitForOperation(api, first.body.operation.id)).state).toBe('succeeded');
    const del = await api.del(`/v1/instances/${first.body.instance.id}`);
    expect((await waitForOperation(api, del.body.operation.id)).state).toBe('succeeded');
    expect((await api.del(`/v1/images/${image.body.id}`)).status).toBe(204);
    // The image is gone: a new request is a 404, the retry is the first answer.
    expect((await api.post('/v1/instances', body)).status).toBe(404);
    const retry = await api.post('/v1/instances', body, headers);
    expect(retry).toMatchObject({ status: 202, body: { instance: { id: first.body.instance.id }, operation: { id: first.body.operation.id } } });
    expect(await db('instances').where({ name: 'idem-3' })).toHaveLength(1);
  });
});
