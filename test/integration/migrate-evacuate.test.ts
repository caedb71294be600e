import fs from 'node:fs';
import type { Knex } from 'knex';
import { apiClient, assertAddressInvariants, createBody, pings, temporalClient, testDb, waitForOperation, waitUntil, type ApiClient } from '../helpers/platform';
import { HOST_A, HOST_B, STATE_FILE, TEST_STORE, TEST_ZONE } from '../helpers/env';
import { startHostAgent } from '../helpers/global-setup';
import { stopProcess } from '../helpers/processes';
import { hasCopy, inside, virsh } from '../helpers/hosts';
import { progressQuery } from '../../workflows/evacuate-host';
import { replayAndRecord } from '../helpers/replay';
import { engineB, holds } from '../helpers/operator';

type Made = { id: string; kind: 'docker' | 'kvm'; ip: string; mac: string; hostname: string; marker: string };
const pidOf = (name: string): number => JSON.parse(fs.readFileSync(STATE_FILE, 'utf8'))[name];

describe('snapshots, migrate and evacuate across two hosts', () => {
  let admin: ApiClient;
  let db: Knex;
  const made: Made[] = [];
  const recorded: Record<string, string> = {};
  beforeAll(() => { admin = apiClient(); db = testDb(); });
  afterAll(() => db.destroy());

  async function create(name: string, kind: 'docker' | 'kvm', host: string): Promise<Made> {
    const body = kind === 'kvm' ? createBody(name, { kind, image: 'busybox-vm', memoryMb: 160, host }) : createBody(name, { host });
    const res = await admin.post('/v1/instances', body);
    expect(await waitForOperation(admin, res.body.operation.id)).toMatchObject({ state: 'succeeded' });
    const i = (await admin.get(`/v1/instances/${res.body.instance.id}`)).body;
    await waitUntil(`${name} to answer`, () => pings(i.ip), 90_000);
    const marker = `${name}-${Date.now()}`;
    await inside(hostOf(host), kind, i.id, `echo ${marker} > /root/marker; sync`);
    const m = { id: i.id, kind, ip: i.ip, mac: i.mac, hostname: i.hostname, marker };
    made.push(m);
    return m;
  }
  const hostOf = (id: string) => (id === HOST_A.id ? HOST_A : HOST_B);

  /** Where it runs now: same identity, answers ping, the file written inside is there, no copy elsewhere. */
  async function expectOn(m: Made, hostId: string, other: string) {
    const i = (await admin.get(`/v1/instances/${m.id}`)).body;
    expect(i).toMatchObject({ hostId, ip: m.ip, mac: m.mac, hostname: m.hostname, state: 'running' });
    await waitUntil(`${m.hostname} to answer on ${hostId}`, () => pings(m.ip), 90_000);
    expect((await inside(hostOf(hostId), m.kind, m.id, 'cat /root/marker')).trim()).toBe(m.marker);
    expect(await hasCopy(hostOf(other), m.id)).toBe(false);
  }

  test('a container and a VM migrate with a snapshot to the other host: same IP, MAC and hostname, the file is there, the source has no copy', async () => {
    const c = await create('mig-c1', 'docker', HOST_A.id);
    const v = await create('mig-v1', 'kvm', HOST_A.id);
    for (const m of [c, v]) {
      const res = await admin.post(`/v1/instances/${m.id}/migrate`, { snapshot: 'latest' });
      expect(res.status).toBe(202);
      expect(res.body.operation.workflowId).toBe(`instance-${m.id}-migrate-1`);
      const op = await waitForOperation(admin, res.body.operation.id, 180_000);
      expect(op).toMatchObject({ state: 'succeeded', result: { hostId: HOST_B.id, sourceAlive: true } });
      recorded[`migrate-${m.kind}`] = res.body.operation.workflowId;
      await expectOn(m, HOST_B.id, HOST_A.id);
      await assertAddressInvariants(db);
      const snaps = (await admin.get(`/v1/instances/${m.id}/snapshots`)).body.items;
      expect(snaps).toHaveLength(1);
      expect(snaps[0]).toMatchObject({ id: op.result.snapshotId, state: 'ready', kind: m.kind });
    }
  });

  test('a snapshot of a running container and VM is ready and they keep running; deleting one removes its data', async () => {
    for (const m of made) {
      const res = await admin.post(`/v1/instances/${m.id}/snapshots`);
      expect(res.status).toBe(202);
      const op = await waitForOperation(admin, res.body.operation.id, 120_000);
      expect(op).toMatchObject({ state: 'succeeded', result: { snapshotId: res.body.snapshot.id } });
      recorded[`snapshot-${m.kind}`] = res.body.operation.workflowId;
      if (m.kind === 'kvm') expect(op.result.consistency).toBe('filesystem');
      expect(await pings(m.ip)).toBe(true);
      const snap = (await db('snapshots').where({ id: res.body.snapshot.id }).first());
      if (m.kind === 'kvm') expect(fs.existsSync(snap.location)).toBe(true);
      expect((await admin.del(`/v1/instances/${m.id}/snapshots/${snap.id}`)).status).toBe(204);
      if (m.kind === 'kvm') expect(fs.existsSync(snap.location)).toBe(false);
      else expect((await fetch(`http://${snap.location.split('/')[0]}/v2/snapshots/${m.id}/manifests/${snap.digest}`, { method: 'HEAD' })).status).toBe(404);
    }
  });

  test('a snapshot is kept while an operation runs on its instance (a migrate may restore from it)', async () => {
    const c = made[0];
    const first = await admin.post(`/v1/instances/${c.id}/snapshots`);
    expect(await waitForOperation(admin, first.body.operation.id, 120_000)).toMatchObject({ state: 'succeeded' });
    const hostId = (await admin.get(`/v1/instances/${c.id}`)).body.hostId;
    const step = `host-${hostId}.snapshotInstance`;
    holds.set(step);
    try {
      const second = await admin.post(`/v1/instances/${c.id}/snapshots`);
      await holds.reached(step);
      const refused = await admin.del(`/v1/instances/${c.id}/snapshots/${first.body.snapshot.id}`);
      expect(refused).toMatchObject({ status: 409, body: { detail: expect.stringMatching(/an operation runs on the instance \(snapshot /) } });
      expect(await db('snapshots').where({ id: first.body.snapshot.id }).first()).toMatchObject({ state: 'ready' });
      holds.release(step);
      expect(await waitForOperation(admin, second.body.operation.id, 120_000)).toMatchObject({ state: 'succeeded' });
      for (const snap of [first, second]) expect((await admin.del(`/v1/instances/${c.id}/snapshots/${snap.body.snapshot.id}`)).status).toBe(204);
    } finally {
      holds.release(step);
    }
  });

  test('bad migrate, snapshot and evacuate requests are clear 4xx and change nothing', async () => {
    await db('zones').insert({ id: 'elsewhere', subnet: '10.240.0.0/24', gateway: '10.240.0.1', bridge: 'vcelse0' }).onConflict('id').ignore();
    const fakeHost = (id: string, zone: string, state: string) => ({
      id, zone_id: zone, state, vcpus: 2, memory_mb: 4096, disk_gb: 10, kinds: ['docker', 'kvm'], last_heartbeat_at: new Date(),
      numa: JSON.stringify({ nodes: [{ id: 0, cpus: [0, 1], memoryMb: 4096 }] }),
    });
    await db('hosts').insert([fakeHost('far-away', 'elsewhere', 'enabled'), fakeHost('switched-off', TEST_ZONE.id, 'disabled')]).onConflict('id').ignore();
    const [c, v] = made;
    const before = await db('operations').count('* as n').first();
    const cases: [string, unknown, number, string][] = [
      [`/v1/instances/${c.id}/migrate`, { host: 'far-away' }, 400, 'host'],
      [`/v1/instances/${c.id}/migrate`, { host: 'switched-off' }, 422, 'host'],
      [`/v1/instances/${c.id}/migrate`, { host: HOST_B.id }, 400, 'host'],
      [`/v1/instances/${c.id}/migrate`, { snapshot: (await db('snapshots').where({ instance_id: v.id, state: 'ready' }).first()).id }, 400, 'snapshot'],
      [`/v1/instances/${c.id}/migrate`, { snapshot: 'yesterday' }, 400, 'snapshot'],
      [`/v1/instances/${c.id}/migrate`, { snapshot: 'latest', speed: 'fast' }, 400, 'speed'],
      [`/v1/instances/${c.id}/snapshots`, { name: 'x' }, 400, 'name'],
      [`/v1/hosts/${HOST_A.id}/evacuate`, { concurrency: 0 }, 400, 'concurrency'],
    ];
    for (const [url, body, status, field] of cases) {
      const res = await admin.post(url, body);
      expect([url, res.status]).toEqual([url, status]);
      expect(res.body.errors.map((e: { path: string }) => e.path)).toContain(field);
    }
    expect((await admin.post('/v1/hosts/nope/evacuate', {})).status).toBe(404);
    expect(await db('operations').count('* as n').first()).toEqual(before);
    expect((await db('hosts').where({ id: HOST_A.id }).first()).state).toBe('enabled');
    await db('hosts').whereIn('id', ['far-away', 'switched-off']).delete();
  });

  test('evacuating host A moves its six containers and VMs to B with their addresses; a second evacuation meanwhile is 409', async () => {
    const six = [];
    for (let i = 0; i < 4; i++) six.push(await create(`evac-c${i}`, 'docker', HOST_A.id));
    for (let i = 0; i < 2; i++) six.push(await create(`evac-v${i}`, 'kvm', HOST_A.id));
    const res = await admin.post(`/v1/hosts/${HOST_A.id}/evacuate`, { concurrency: 3 });
    expect(res.status).toBe(202);
    expect(res.body.operation.workflowId).toBe(`host-${HOST_A.id}-evacuate-1`);
    expect(res.body.host.state).toBe('draining');
    const again = await admin.post(`/v1/hosts/${HOST_A.id}/evacuate`, {});
    expect(again.status).toBe(409);
    // A draining host takes no new placements.
    const placed = await admin.post('/v1/instances', createBody('while-draining', { host: HOST_A.id }));
    expect(placed.status).toBe(422);
    const op = await waitForOperation(admin, res.body.operation.id, 300_000);
    expect(op).toMatchObject({ state: 'succeeded', result: { total: 6, done: 6, failed: 0, remaining: 0 }, progress: { done: 6, remaining: 0 } });
    recorded['evacuate-live'] = res.body.operation.workflowId;
    const temporal = await temporalClient();
    try {
      expect(await temporal.client.workflow.getHandle(res.body.operation.workflowId).query(progressQuery)).toMatchObject({ done: 6, failed: 0 });
    } finally {
      await temporal.close();
    }
    for (const m of six) await expectOn(m, HOST_B.id, HOST_A.id);
    expect((await db('hosts').where({ id: HOST_A.id }).first()).state).toBe('disabled');
    await assertAddressInvariants(db);
  });

  test('evacuating B as a dead host brings all eight back on A from their latest snapshots; B\'s agent destroys its stale copies when it returns', async () => {
    // B dies: its agent, its engine, its VMs.
    await stopProcess(HOST_B.id, 'SIGKILL');
    const relaunchEngine = await engineB.stop();
    for (const m of made.filter((x) => x.kind === 'kvm')) await virsh(HOST_B, 'destroy', `vc-${m.id}`);
    for (const m of made) expect(await pings(m.ip)).toBe(false);

    expect((await admin.raw('PATCH', `/v1/hosts/${HOST_A.id}`, { state: 'enabled' })).status).toBe(200);
    // B is powered off (agent, engine, VMs): the admin says so; without it a dead host's evacuation is refused.
    const res = await admin.post(`/v1/hosts/${HOST_B.id}/evacuate`, { concurrency: 4, fenced: true });
    expect(res.status).toBe(202);
    const op = await waitForOperation(admin, res.body.operation.id, 300_000);
    expect(op).toMatchObject({ state: 'succeeded', result: { total: 8, done: 8, failed: 0 } });
    recorded['evacuate-dead'] = res.body.operation.workflowId;
    for (const m of made) {
      const i = (await admin.get(`/v1/instances/${m.id}`)).body;
      expect(i).toMatchObject({ hostId: HOST_A.id, ip: m.ip, mac: m.mac, hostname: m.hostname, state: 'running' });
      await waitUntil(`${m.hostname} back on A`, () => pings(m.ip), 90_000);
      expect((await inside(HOST_A, m.kind, m.id, 'cat /root/marker')).trim()).toBe(m.marker);
    }
    await assertAddressInvariants(db);
    expect(await db('stale_copies').where({ host_id: HOST_B.id })).toHaveLength(8);

    // B comes back: its engine, then its agent, which destroys every stale copy before it serves.
    await engineB.start(relaunchEngine, HOST_B);
    expect(await hasCopy(HOST_B, made[0].id)).toBe(true);
    startHostAgent(HOST_B);
    await waitUntil('B\'s stale copies to be destroyed', async () => (await db('stale_copies')).length === 0, 120_000);
    for (const m of made) expect(await hasCopy(HOST_B, m.id)).toBe(false);
    for (const m of made) expect(await pings(m.ip)).toBe(true);
    expect(pidOf(HOST_B.id)).toBeGreaterThan(0);
  });

  test('the histories of the migrations, snapshots and both evacuations replay against the current workflow code', async () => {
    expect(Object.keys(recorded).sort()).toEqual(['evacuate-dead', 'evacuate-live', 'migrate-docker', 'migrate-kvm', 'snapshot-docker', 'snapshot-kvm']);
    await replayAndRecord(recorded);
  });

  test('deleting the moved instances leaves nothing on either host, frees their addresses and removes their snapshots', async () => {
    expect((await admin.raw('PATCH', `/v1/hosts/${HOST_B.id}`, { state: 'enabled' })).status).toBe(200);
    const ops = await Promise.all(made.map((m) => admin.del(`/v1/instances/${m.id}`)));
    for (const op of ops) expect((await waitForOperation(admin, op.body.operation.id, 120_000)).state).toBe('succeeded');
    for (const m of made) {
      expect(await hasCopy(HOST_A, m.id)).toBe(false);
      expect(await hasCopy(HOST_B, m.id)).toBe(false);
      expect(await db('ip_addresses').where({ address: m.ip }).first()).toMatchObject({ state: 'free' });
    }
    expect(await db('snapshots').whereIn('instance_id', made.map((m) => m.id)).whereNot({ state: 'deleted' }).whereNot({ state: 'failed' })).toEqual([]);
    expect(fs.readdirSync(TEST_STORE).filter((f) => f.startsWith('snapshot-'))).toEqual([]);
    await assertAddressInvariants(db);
  });
});
