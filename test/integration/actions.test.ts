import type { Knex } from 'knex';
import { apiClient, createBody, pings, testDb, waitForOperation, waitUntil, type ApiClient } from '../helpers/platform';
import { HOST_A } from '../helpers/env';
import { docker, virsh } from '../helpers/hosts';

describe('start, stop, pause, resume and reboot', () => {
  let admin: ApiClient;
  let db: Knex;
  beforeAll(() => { admin = apiClient(); db = testDb(); });
  afterAll(() => db.destroy());

  async function act(id: string, action: string, expected = 'succeeded') {
    const res = await admin.post(`/v1/instances/${id}/actions`, { action });
    expect(res.status).toBe(202);
    expect(res.body.operation.workflowId).toMatch(new RegExp(`^instance-${id}-${action}-\\d+$`));
    expect(await waitForOperation(admin, res.body.operation.id)).toMatchObject({ state: expected });
    return (await admin.get(`/v1/instances/${id}`)).body;
  }

  test('a container: stop (no answer), start (answers again), pause and resume; wrong transitions are 409', async () => {
    const res = await admin.post('/v1/instances', createBody('act-c', { host: HOST_A.id }));
    expect(await waitForOperation(admin, res.body.operation.id)).toMatchObject({ state: 'succeeded' });
    const { id, ip } = (await admin.get(`/v1/instances/${res.body.instance.id}`)).body;
    const state = async () => JSON.parse(await docker(HOST_A, 'inspect', '-f', '{{json .State}}', `vc-${id}`));

    expect((await act(id, 'stop')).state).toBe('stopped');
    expect((await state()).Running).toBe(false);
    expect(await pings(ip)).toBe(false);
    expect((await admin.post(`/v1/instances/${id}/actions`, { action: 'stop' })).status).toBe(409);
    expect((await admin.post(`/v1/instances/${id}/actions`, { action: 'pause' })).status).toBe(409);
    expect((await act(id, 'start')).state).toBe('running');
    await waitUntil('the container to answer again', () => pings(ip), 20_000);
    expect((await act(id, 'pause')).state).toBe('paused');
    expect((await state()).Paused).toBe(true);
    expect((await act(id, 'resume')).state).toBe('running');
    expect((await state()).Paused).toBe(false);
    expect((await act(id, 'reboot')).state).toBe('running');
    await waitUntil('the container to answer after a reboot', () => pings(ip), 20_000);
    const bad = await admin.post(`/v1/instances/${id}/actions`, { action: 'explode' });
    expect(bad.status).toBe(400);
    expect(bad.body.errors[0].path).toBe('action');
    const del = await admin.del(`/v1/instances/${id}`);
    expect((await waitForOperation(admin, del.body.operation.id)).state).toBe('succeeded');
  });

  test('a VM: pause (no answer), resume, stop, start (boots and answers again)', async () => {
    const res = await admin.post('/v1/instances', createBody('act-v', { kind: 'kvm', image: 'busybox-vm', memoryMb: 160, host: HOST_A.id }));
    expect(await waitForOperation(admin, res.body.operation.id)).toMatchObject({ state: 'succeeded' });
    const { id, ip } = (await admin.get(`/v1/instances/${res.body.instance.id}`)).body;
    await waitUntil('the VM to answer', () => pings(ip), 90_000);
    const domstate = async () => (await virsh(HOST_A, 'domstate', `vc-${id}`)).trim();

    expect((await act(id, 'pause')).state).toBe('paused');
    expect(await domstate()).toBe('paused');
    expect(await pings(ip)).toBe(false);
    expect((await act(id, 'resume')).state).toBe('running');
    await waitUntil('the VM to answer after resume', () => pings(ip), 20_000);
    expect((await act(id, 'stop')).state).toBe('stopped');
    expect(await domstate()).toBe('shut off');
    expect((await act(id, 'start')).state).toBe('running');
    await waitUntil('the VM to boot and answer again', () => pings(ip), 90_000);
    const del = await admin.del(`/v1/instances/${id}`);
    expect((await waitForOperation(admin, del.body.operation.id)).state).toBe('succeeded');
  });
});
