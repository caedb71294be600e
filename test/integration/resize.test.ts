import type { Knex } from 'knex';
import { apiClient, assertAddressInvariants, createBody, deleteInstances, pings, testDb, waitForOperation, waitUntil, type ApiClient } from '../helpers/platform';
import { HOST_A, HOST_B, TEST_ZONE } from '../helpers/env';
import { docker, hasCopy, inside, virsh } from '../helpers/hosts';
import { holds, temporalCli } from '../helpers/operator';
import { replayAndRecord } from '../helpers/replay';
import { sameUsage, usageAndClaims } from '../../db/placement';
import { createUser, issueToken } from '../../db/users';
import { putGrant } from '../../db/grants';
import { parseCpuList } from '../../host/machine';

describe('resize: live, cold and offline, refusals, cancel and terminate', () => {
  let admin: ApiClient;
  let db: Knex;
  const made: string[] = [];
  const recorded: Record<string, string> = {};

  beforeAll(() => { admin = apiClient(); db = testDb(); });
  afterAll(async () => {
    await deleteInstances(admin, made);
    await db.destroy();
  });

  async function create(name: string, extra: Record<string, unknown> = {}, api = admin) {
    const res = await api.post('/v1/instances', createBody(name, { host: api === admin ? HOST_A.id : undefined, ...extra }));
    expect(res.status).toBe(202);
    made.push(res.body.instance.id);
    expect(await waitForOperation(api, res.body.operation.id, 180_000)).toMatchObject({ state: 'succeeded' });
    return (await api.get(`/v1/instances/${res.body.instance.id}`)).body;
  }

  async function resize(id: string, body: object, plan: string) {
    const res = await admin.post(`/v1/instances/${id}/resize`, body);
    expect(res.status).toBe(202);
    expect(res.body.resize.plan).toBe(plan);
    expect(res.body.instance.state).toBe('resizing');
    expect(res.body.operation.workflowId).toMatch(new RegExp(`^instance-${id}-resize-\\d+$`));
    return res.body.operation;
  }

  /** Each host's counters equal what its instances claim. */
  async function expectUsageMatchesClaims() {
    for (const h of await usageAndClaims(db)) expect([h.hostId, sameUsage(h.used, h.claims)]).toEqual([h.hostId, true]);
  }

  const limits = async (id: string) => JSON.parse(await docker(HOST_A, 'inspect', '-f', '{{json .HostConfig}}', `vc-${id}`));
  const startedAt = async (id: string) => (await docker(HOST_A, 'inspect', '-f', '{{.State.StartedAt}}', `vc-${id}`)).trim();

  test('a running container grows and shrinks live (never restarted); a stopped one changes offline and stays stopped', async () => {
    const c = await create('rs-live');
    const started = await startedAt(c.id);
    const op = await resize(c.id, { vcpus: 2, memoryMb: 128 }, 'live');
    expect(await waitForOperation(admin, op.id)).toMatchObject({ state: 'succeeded', progress: { plan: 'live', to: { vcpus: 2, memoryMb: 128 } } });
    recorded['resize-live'] = op.workflowId;
    let row = await db('instances').where({ id: c.id }).first();
    expect(row).toMatchObject({ state: 'running', vcpus: 2, memory_mb: 128, resize_from: null, resize_to: null });
    expect(row.cpuset).toHaveLength(2);
    let hc = await limits(c.id);
    expect(hc.Memory).toBe(128 * 2 ** 20);
    expect(parseCpuList(hc.CpusetCpus)).toEqual(row.cpuset);
    expect(await startedAt(c.id)).toBe(started);
    expect(await pings(c.ip)).toBe(true);
    await expectUsageMatchesClaims();

    const down = await resize(c.id, { vcpus: 1, memoryMb: 96 }, 'live');
    expect((await waitForOperation(admin, down.id)).state).toBe('succeeded');
    row = await db('instances').where({ id: c.id }).first();
    expect(row).toMatchObject({ vcpus: 1, memory_mb: 96 });
    expect((await limits(c.id)).Memory).toBe(96 * 2 ** 20);
    expect(await startedAt(c.id)).toBe(started);
    await expectUsageMatchesClaims();

    const stop = await admin.post(`/v1/instances/${c.id}/actions`, { action: 'stop' });
    expect((await waitForOperation(admin, stop.body.operation.id)).state).toBe('succeeded');
    const off = await resize(c.id, { memoryMb: 80 }, 'offline');
    expect((await waitForOperation(admin, off.id)).state).toBe('succeeded');
    recorded['resize-offline'] = off.workflowId;
    expect(await db('instances').where({ id: c.id }).first()).toMatchObject({ state: 'stopped', memory_mb: 80 });
    hc = await limits(c.id);
    expect(hc.Memory).toBe(80 * 2 ** 20);
    expect(JSON.parse(await docker(HOST_A, 'inspect', '-f', '{{json .State.Running}}', `vc-${c.id}`))).toBe(false);
    await expectUsageMatchesClaims();
  });

  test('refusals are clear 4xx and write nothing: no change, a shrinking disk, more CPUs than the host has, the quota, bad input, a busy instance', async () => {
    const c = await create('rs-refused');
    const u = await createUser(db, 'resize-user', 'user');
    await putGrant(db, u.id, TEST_ZONE.id, { maxVcpus: 1, maxMemoryMb: 256, maxInstances: 2 });
    const user = apiClient((await issueToken(db, u.id)).token);
    const mine = await create('rs-quota', {}, user);
    const sizeCols = ['state', 'vcpus', 'memory_mb', 'disk_gb', 'cpuset', 'resize_from', 'resize_to'];
    const before = { row: await db('instances').where({ id: c.id }).first(sizeCols), ops: await db('operations').count('* as n').first(), hosts: await db('hosts').orderBy('id').select('id', 'used_vcpus', 'used_memory_mb', 'used_disk_gb') };
    const cases: [ApiClient, string, unknown, number, string][] = [
      [admin, c.id, { vcpus: 1 }, 422, 'vcpus'],
      [admin, c.id, { diskGb: 0 }, 400, 'diskGb'],
      [admin, c.id, { vcpus: 99 }, 400, 'vcpus'],
      [admin, c.id, {}, 400, 'vcpus'],
      [admin, c.id, { vcpus: 2, colour: 'red' }, 400, ''],
      [admin, c.id, { memoryMb: 'lots' }, 400, 'memoryMb'],
      [user, mine.id, { vcpus: 2 }, 422, ''],
      [user, c.id, { vcpus: 2 }, 404, ''],
    ];
    const hostCpus = (await db('hosts').where({ id: HOST_A.id }).first()).vcpus;
    cases.push([admin, c.id, { vcpus: hostCpus + 1 }, 422, 'vcpus']);
    await db('instances').where({ id: c.id }).update({ disk_gb: 2 });
    await db('hosts').where({ id: HOST_A.id }).increment('used_disk_gb', 1);
    cases.push([admin, c.id, { diskGb: 1 }, 422, 'diskGb']);
    for (const [api, id, body, status, path] of cases) {
      const res = await api.post(`/v1/instances/${id}/resize`, body);
      expect([JSON.stringify(body), res.status]).toEqual([JSON.stringify(body), status]);
      expect(res.contentType).toMatch(/problem\+json/);
      if (path) expect(res.body.errors.map((e: { path: string }) => e.path)).toContain(path);
    }
    await db('instances').where({ id: c.id }).update({ disk_gb: 1 });
    await db('hosts').where({ id: HOST_A.id }).decrement('used_disk_gb', 1);
    expect(await db('instances').where({ id: c.id }).first(sizeCols)).toEqual(before.row);
    expect(await db('operations').count('* as n').first()).toEqual(before.ops);
    expect(await db('hosts').orderBy('id').select('id', 'used_vcpus', 'used_memory_mb', 'used_disk_gb')).toEqual(before.hosts);

    // One resize at a time: a second request while the first runs is 409, and so is a delete.
    holds.set('host-test-a.resizeInstance');
    try {
      const first = await resize(c.id, { memoryMb: 72 }, 'live');
      expect((await admin.post(`/v1/instances/${c.id}/resize`, { memoryMb: 80 })).status).toBe(409);
      expect((await admin.del(`/v1/instances/${c.id}`)).status).toBe(409);
      holds.release('host-test-a.resizeInstance');
      expect((await waitForOperation(admin, first.id)).state).toBe('succeeded');
    } finally {
      holds.release('host-test-a.resizeInstance');
    }
    await expectUsageMatchesClaims();
  });

  test('a running VM resizes live within its maxima (vCPUs hot-plugged and online in the guest, memory by its balloon, never restarted), then cold for a bigger disk the guest sees grown', async () => {
    const v = await create('rs-vm', { kind: 'kvm', image: 'busybox-vm', memoryMb: 160 });
    expect(await db('instances').where({ id: v.id }).first()).toMatchObject({ max_vcpus: 2, max_memory_mb: 320 });
    await waitUntil('the VM to answer', () => pings(v.ip), 90_000);
    const domid = async () => (await virsh(HOST_A, 'domid', `vc-${v.id}`)).trim();
    const started = await domid();
    const live = await resize(v.id, { vcpus: 2, memoryMb: 256 }, 'live');
    expect(await waitForOperation(admin, live.id, 180_000)).toMatchObject({ state: 'succeeded', result: { plan: 'live' } });
    recorded['resize-vm-live'] = live.workflowId;
    expect(await domid()).toBe(started);
    let info = await virsh(HOST_A, 'dominfo', `vc-${v.id}`);
    expect(info).toMatch(/CPU\(s\):\s+2\n/);
    expect(info).toMatch(new RegExp(`Max memory:\\s+${320 * 1024} KiB`));
    await waitUntil('the guest to bring its new vCPU online', async () => (await inside(HOST_A, 'kvm', v.id, 'cat /sys/devices/system/cpu/online')).trim() === '0-1', 60_000);
    await waitUntil('the balloon to give the guest 256 MB', async () => /Used memory:\s+262144 KiB/.test(await virsh(HOST_A, 'dominfo', `vc-${v.id}`)), 60_000);
    let row = await db('instances').where({ id: v.id }).first();
    expect(row).toMatchObject({ state: 'running', vcpus: 2, memory_mb: 256, max_vcpus: 2, max_memory_mb: 320 });
    const pinned = (await virsh(HOST_A, 'vcpupin', `vc-${v.id}`)).split('\n').filter((l) => /^\s*\d+\s+/.test(l)).slice(0, 2).flatMap((l) => parseCpuList(l.trim().split(/\s+/)[1]));
    expect([...new Set(pinned)].sort((a, b) => a - b)).toEqual(row.cpuset);
    await expectUsageMatchesClaims();

    const dfKb = async () => Number((await inside(HOST_A, 'kvm', v.id, "df -k / | tail -1 | awk '{print $2}'")).trim());
    const sizeBefore = await dfKb();
    const op = await resize(v.id, { memoryMb: 192, diskGb: v.diskGb + 1 }, 'cold');
    expect(await waitForOperation(admin, op.id, 180_000)).toMatchObject({ state: 'succeeded', result: { plan: 'cold' } });
    recorded['resize-cold'] = op.workflowId;
    row = await db('instances').where({ id: v.id }).first();
    expect(row).toMatchObject({ state: 'running', vcpus: 2, memory_mb: 192, disk_gb: v.diskGb + 1, max_vcpus: 4, max_memory_mb: 384 });
    info = await virsh(HOST_A, 'dominfo', `vc-${v.id}`);
    expect(info).toMatch(/CPU\(s\):\s+2\n/);
    expect(info).toMatch(new RegExp(`Max memory:\\s+${384 * 1024} KiB`));
    expect(info).toMatch(/State:\s+running/);
    expect(await domid()).not.toBe(started);
    await waitUntil('the VM to answer after its cold resize', () => pings(v.ip), 90_000);
    // ext4 grew by about the gigabyte added (its own metadata takes a little).
    expect(await dfKb()).toBeGreaterThan(sizeBefore + 900 * 1024);
    await expectUsageMatchesClaims();
    await assertAddressInvariants(db);
  });

  test('Cancel after the engine took the new size puts the old size back; Terminate there is caught by the reconciler, whose repair does the same', async () => {
    const c = await create('rs-undo');
    const started = await startedAt(c.id);
    const hold = 'control.commitResize';
    for (const how of ['cancel', 'terminate'] as const) {
      holds.set(hold);
      try {
        const op = await resize(c.id, { vcpus: 2, memoryMb: 112 }, 'live');
        await holds.reached(hold);
        expect((await limits(c.id)).Memory).toBe(112 * 2 ** 20);
        await temporalCli('workflow', how, '--workflow-id', op.workflowId, ...(how === 'terminate' ? ['--reason', 'test'] : []));
        const end = await waitForOperation(admin, op.id, 120_000);
        expect(end.state).toBe(how === 'cancel' ? 'cancelled' : 'failed');
        if (how === 'cancel') recorded['resize-cancelled'] = op.workflowId;
      } finally {
        holds.release(hold);
      }
      await waitUntil(`the instance back at its old size after ${how}`, async () => {
        const row = await db('instances').where({ id: c.id }).first();
        return row.state === 'running' && row.resize_from === null && row.memory_mb === 64 && row.vcpus === 1;
      }, 120_000);
      await waitUntil(`the engine back at the old size after ${how}`, async () => (await limits(c.id)).Memory === 64 * 2 ** 20, 60_000);
      expect(await startedAt(c.id)).toBe(started);
      await expectUsageMatchesClaims();
    }
  });

  test('no room on its host: a 422 that names allowMigrate; with it, a container and a VM move to a host that fits, at the new size, with their address and data', async () => {
    const c = await create('rs-move');
    const v = await create('rs-move-vm', { kind: 'kvm', image: 'busybox-vm', memoryMb: 160 });
    await inside(HOST_A, 'docker', c.id, 'echo kept-c > /root/marker');
    await inside(HOST_A, 'kvm', v.id, 'echo kept-v > /root/marker; sync');
    // Host A keeps 16 MB of room: a real claim (a container with that memory limit) takes the rest.
    const a = await db('hosts').where({ id: HOST_A.id }).first();
    const filler = await create('rs-filler', { memoryMb: a.memory_mb - a.used_memory_mb - 16 });
    try {
      const before = await db('instances').where({ id: c.id }).first();
      const refused = await admin.post(`/v1/instances/${c.id}/resize`, { vcpus: 2, memoryMb: 128 });
      expect(refused.status).toBe(422);
      expect(refused.body.detail).toMatch(/allowMigrate/);
      expect(await db('instances').where({ id: c.id }).first()).toEqual(before);

      const op = await resize(c.id, { vcpus: 2, memoryMb: 128, allowMigrate: true }, 'migrate');
      expect(await waitForOperation(admin, op.id, 180_000)).toMatchObject({ state: 'succeeded', result: { plan: 'migrate', hostId: HOST_B.id } });
      recorded['resize-migrate'] = op.workflowId;
      const row = await db('instances').where({ id: c.id }).first();
      expect(row).toMatchObject({ state: 'running', host_id: HOST_B.id, vcpus: 2, memory_mb: 128, ip: c.ip, mac: before.mac, resize_from: null, resize_to: null, target_host_id: null });
      const hc = JSON.parse(await docker(HOST_B, 'inspect', '-f', '{{json .HostConfig}}', `vc-${c.id}`));
      expect(hc.Memory).toBe(128 * 2 ** 20);
      expect(parseCpuList(hc.CpusetCpus)).toEqual(row.cpuset);
      expect(await hasCopy(HOST_A, c.id)).toBe(false);
      expect((await inside(HOST_B, 'docker', c.id, 'cat /root/marker')).trim()).toBe('kept-c');
      await waitUntil('the container to answer on B', () => pings(c.ip), 30_000);

      const dfKb = async () => Number((await inside(HOST_B, 'kvm', v.id, "df -k / | tail -1 | awk '{print $2}'")).trim());
      const vop = await resize(v.id, { memoryMb: 256, diskGb: v.diskGb + 1, allowMigrate: true }, 'migrate');
      expect(await waitForOperation(admin, vop.id, 240_000)).toMatchObject({ state: 'succeeded', result: { plan: 'migrate', hostId: HOST_B.id } });
      expect(await db('instances').where({ id: v.id }).first()).toMatchObject({ state: 'running', host_id: HOST_B.id, memory_mb: 256, disk_gb: v.diskGb + 1, max_memory_mb: 512, ip: v.ip });
      expect(await virsh(HOST_B, 'dominfo', `vc-${v.id}`)).toMatch(new RegExp(`Max memory:\\s+${512 * 1024} KiB`));
      expect(await hasCopy(HOST_A, v.id)).toBe(false);
      expect((await inside(HOST_B, 'kvm', v.id, 'cat /root/marker')).trim()).toBe('kept-v');
      // The snapshot's ext4 filled the bigger disk: more than the create's disk in all.
      expect(await dfKb()).toBeGreaterThan(v.diskGb * 1024 * 1024);
      await waitUntil('the VM to answer on B', () => pings(v.ip), 90_000);
      await expectUsageMatchesClaims();
      await assertAddressInvariants(db);
    } finally {
      await deleteInstances(admin, [filler.id]);
    }
  });

  test('the histories of the resizes replay against the current workflow code', async () => {
    expect(Object.keys(recorded).sort()).toEqual(['resize-cancelled', 'resize-cold', 'resize-live', 'resize-migrate', 'resize-offline', 'resize-vm-live']);
    await replayAndRecord(recorded);
  });
});
