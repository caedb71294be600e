import fs from 'node:fs';
import path from 'node:path';
import type { Knex } from 'knex';
import { apiClient, createBody, pings, testDb, waitForOperation, waitUntil, type ApiClient } from '../helpers/platform';
import { DATA, HOST_A, HOST_B, TEST_DEAD_AFTER_SECONDS, TEST_ZONE } from '../helpers/env';
import { partitionFile, startHostAgent, startWatchdog } from '../helpers/global-setup';
import { stopProcess } from '../helpers/processes';
import { docker, hasCopy, inside, virsh } from '../helpers/hosts';
import { expectSettled, holds } from '../helpers/operator';
import { restorePlatform } from '../helpers/platform-guard';
import { replayAndRecord } from '../helpers/replay';
import { projectRoot } from '../../lib/config';
import { run } from '../../host/run';
import { plumbedInstances } from '../../host/bridge-plumbing';

/**
 * Samples both hosts' engines and the zone bridge while an operation runs: an instance running on
 * both engines at once, or one platform MAC seen on two bridge ports, is a split brain. With
 * `onNetwork`, a container counts only while its veth pair is there (a self-fenced host unplugs its
 * instances and leaves them running).
 */
function splitBrainWatcher(ids: () => string[], onNetwork = false) {
  const seen: string[] = [];
  let stop = false;
  const running = async (h: typeof HOST_A) => {
    const containers = (await docker(h, 'ps', '--filter', 'label=vcloud.instance', '--format', '{{.Names}}').catch(() => '')).split('\n');
    const domains = (await virsh(h, 'list', '--name').catch(() => '')).split('\n');
    const plumbed = onNetwork ? await plumbedInstances(h.id) : null;
    return new Set([...containers.map((n) => n.trim()).filter((n) => n.startsWith('vc-')).map((n) => n.slice(3)).filter((id) => !plumbed || plumbed.has(id)),
      ...domains.map((n) => n.trim()).filter((n) => n.startsWith('vc-')).map((n) => n.slice(3))]);
  };
  const loop = (async () => {
    while (!stop) {
      const [a, b] = await Promise.all([running(HOST_A), running(HOST_B)]);
      for (const id of ids()) if (a.has(id) && b.has(id)) seen.push(`${id} runs on both hosts`);
      const fdb = await run('bridge', ['fdb', 'show', 'br', TEST_ZONE.bridge]).catch(() => '');
      const ports = new Map<string, Set<string>>();
      for (const line of fdb.split('\n')) {
        const m = /^(52:54:[0-9a-f:]{11}) dev (\S+)/.exec(line);
        if (m && !line.includes('permanent')) ports.set(m[1], new Set([...(ports.get(m[1]) ?? []), m[2]]));
      }
      for (const [mac, devs] of ports) if (devs.size > 1) seen.push(`${mac} on ${[...devs].join(' and ')}`);
      await new Promise((r) => setTimeout(r, 200));
    }
  })();
  return { seen, stop: async () => { stop = true; await loop; } };
}

// Host failure without split brain: busy is not dead, a dead host is fenced before anything of it
// is rebuilt, automatic failover, and maintenance that comes back.
describe('host failure without split brain', () => {
  let api: ApiClient;
  let db: Knex;
  beforeAll(() => { api = apiClient(); db = testDb(); });
  afterAll(() => db.destroy());
  // Each test kills or cuts off a host: the next one starts from the whole platform, with nothing left.
  beforeEach(() => restorePlatform(), 300_000);

  async function container(name: string, host: string) {
    const res = await api.post('/v1/instances', createBody(name, { host }));
    expect(await waitForOperation(api, res.body.operation.id)).toMatchObject({ state: 'succeeded' });
    return (await api.get(`/v1/instances/${res.body.instance.id}`)).body;
  }
  const instance = async (id: string) => (await api.get(`/v1/instances/${id}`)).body;
  const engineBUp = () => docker(HOST_B, 'info').then(() => true, () => false);
  async function bringBackB() {
    if (!(await engineBUp())) await run('bash', ['-c', `source ${projectRoot}/scripts/lib.sh && start_host_b_services`], 120_000);
    startHostAgent(HOST_B);
    startWatchdog(HOST_B);
  }

  test('a busy source is not a dead one: a migrate waits for the saturated agent, and the instance never runs on two hosts', async () => {
    const c = await container('busy-src', HOST_A.id);
    const step = `host-${HOST_A.id}.createInstance`;
    holds.set(step);
    // Twenty creates held in host A's work slots: its agent is saturated, its probe still answers.
    const fill = await Promise.all(Array.from({ length: 20 }, (_, i) => api.post('/v1/instances', createBody(`filler-${i}`, { host: HOST_A.id }))));
    await waitUntil('host A\'s slots to fill', async () =>
      (await db('operations').whereIn('id', fill.map((r) => r.body.operation.id)).where({ state: 'running' })).length === 20, 60_000);
    await holds.reached(step);
    await new Promise((r) => setTimeout(r, 5000)); // the last of the twenty to take their slots
    const watcher = splitBrainWatcher(() => [c.id]);
    const move = await api.post(`/v1/instances/${c.id}/migrate`, { host: HOST_B.id, snapshot: 'none' });
    await waitUntil('the move to wait on its busy source', async () =>
      Boolean((await db('operations').where({ id: move.body.operation.id }).first()).progress?.waitingForSource), 60_000);
    const waiting = (await db('operations').where({ id: move.body.operation.id }).first()).progress;
    expect(waiting).toMatchObject({ waitingForSource: HOST_A.id, probeAnswered: true });
    expect(await hasCopy(HOST_B, c.id)).toBe(false);
    holds.release(step);
    expect(await waitForOperation(api, move.body.operation.id, 180_000)).toMatchObject({ state: 'succeeded', result: { sourceAlive: true } });
    await watcher.stop();
    expect(watcher.seen).toEqual([]);
    expect(await instance(c.id)).toMatchObject({ hostId: HOST_B.id, state: 'running' });
    expect(await hasCopy(HOST_A, c.id)).toBe(false);
    await replayAndRecord({ 'migrate-busy-source': move.body.operation.workflowId });
    for (const r of fill) await waitForOperation(api, r.body.operation.id, 120_000);
    await expectSettled(180_000);
  });

  test('an agent crashed with its engine running: evacuating the host is refused until it is fenced; its fence command runs first, and no instance ever runs twice', async () => {
    const cs = [await container('unfenced-1', HOST_B.id), await container('unfenced-2', HOST_B.id), await container('unfenced-3', HOST_B.id)];
    const res = await api.post('/v1/instances', createBody('unfenced-vm', { kind: 'kvm', image: 'busybox-vm', memoryMb: 160, host: HOST_B.id }));
    expect(await waitForOperation(api, res.body.operation.id)).toMatchObject({ state: 'succeeded' });
    const vm = await instance(res.body.instance.id);
    const all = [...cs, vm];
    await stopProcess(`${HOST_B.id}-watchdog`, 'SIGKILL');
    await stopProcess(HOST_B.id, 'SIGKILL');
    await waitUntil('host B to be dead by its heartbeat', async () => (await db('hosts').where({ id: HOST_B.id })
      .whereRaw('last_heartbeat_at < now() - make_interval(secs => ?)', [TEST_DEAD_AFTER_SECONDS + 1]).first()) !== undefined, 60_000);
    // Still running on B with its agent dead (a TCG guest on a loaded machine may still be booting: its first answer is awaited).
    for (const i of all) await waitUntil(`${i.name} to answer on B`, () => pings(i.ip), 90_000);

    const refused = await api.post(`/v1/hosts/${HOST_B.id}/evacuate`, { concurrency: 4 });
    expect(refused).toMatchObject({ status: 409, body: { detail: expect.stringMatching(/not fenced/) } });
    expect((await db('hosts').where({ id: HOST_B.id }).first()).state).toBe('enabled');

    expect((await api.raw('PATCH', `/v1/hosts/${HOST_B.id}`, { fenceCommand: ['/bin/bash', path.join(projectRoot, 'scripts', 'fence-sim.sh'), DATA] })).status).toBe(200);
    const watcher = splitBrainWatcher(() => all.map((i) => i.id));
    const evac = await api.post(`/v1/hosts/${HOST_B.id}/evacuate`, { concurrency: 4 });
    expect(evac.status).toBe(202);
    const op = await waitForOperation(api, evac.body.operation.id, 300_000);
    await watcher.stop();
    expect(op).toMatchObject({ state: 'succeeded', result: { failed: 0, fencedBy: 'command', moved: expect.arrayContaining(all.map((i) => i.id)) } });
    expect(watcher.seen).toEqual([]);
    await replayAndRecord({ 'evacuate-fence-command': evac.body.operation.workflowId });
    for (const i of all) {
      expect(await instance(i.id)).toMatchObject({ hostId: HOST_A.id, ip: i.ip, mac: i.mac, state: 'running' });
      await waitUntil(`${i.name} on A`, () => pings(i.ip), 90_000);
    }
    expect(await engineBUp()).toBe(false);
    await bringBackB();
    await waitUntil('B\'s stale copies to be destroyed', async () => (await db('stale_copies').where({ host_id: HOST_B.id })).length === 0, 120_000);
    for (const i of all) expect(await hasCopy(HOST_B, i.id)).toBe(false);
    await expectSettled(180_000);
  });

  test('a delete on a dead host keeps the address until the host is fenced and evacuated, which finishes it', async () => {
    const c = await container('delete-dead', HOST_B.id);
    await stopProcess(`${HOST_B.id}-watchdog`, 'SIGKILL');
    await stopProcess(HOST_B.id, 'SIGKILL');
    const del = await api.del(`/v1/instances/${c.id}`);
    expect(await waitForOperation(api, del.body.operation.id, 120_000)).toMatchObject({ state: 'failed' });
    expect(await instance(c.id)).toMatchObject({ state: 'repairing' });
    expect(await db('ip_addresses').where({ address: c.ip }).first()).toMatchObject({ state: 'allocated', instance_id: c.id });
    await run('/bin/bash', [path.join(projectRoot, 'scripts', 'fence-sim.sh'), DATA]);
    const evac = await api.post(`/v1/hosts/${HOST_B.id}/evacuate`, { fenced: true });
    expect(await waitForOperation(api, evac.body.operation.id, 180_000)).toMatchObject({ state: 'succeeded', result: { fencedBy: 'admin' } });
    await waitUntil('the pending delete to finish', async () => (await instance(c.id)).state === 'deleted', 60_000);
    expect(await db('ip_addresses').where({ instance_id: c.id })).toEqual([]);
    expect(await db('stale_copies').where({ instance_id: c.id, host_id: HOST_B.id })).toHaveLength(1);
    const repair = await db('operations').where({ instance_id: c.id, type: 'repair', state: 'succeeded' }).orderBy('created_at', 'desc').first();
    await replayAndRecord({ 'evacuate-fenced-by-admin': evac.body.operation.workflowId, 'repair-on-fenced-host': repair.workflow_id });
    await bringBackB();
    await waitUntil('its copy to be destroyed when B is back', async () => !(await hasCopy(HOST_B, c.id)), 120_000);
    await expectSettled(180_000);
  });

  test('a partitioned host fences itself in time, and automatic failover brings its instances up on A', async () => {
    const cs = [await container('part-1', HOST_B.id), await container('part-2', HOST_B.id)];
    await db('zones').where({ id: TEST_ZONE.id }).update({ auto_failover: true });
    await waitUntil('B\'s watchdog to know the policy', async () =>
      JSON.parse(fs.readFileSync(path.join(DATA, 'test-watchdog', `${HOST_B.id}.beat.json`), 'utf8')).autoFailover === true, 30_000);
    // B's agent loses Postgres and Temporal (its engine runs on): a test-only switch of the agent.
    const partition = partitionFile(HOST_B);
    fs.writeFileSync(partition, '');
    const watcher = splitBrainWatcher(() => cs.map((i) => i.id), true);
    try {
      await waitUntil('B to fence itself', async () => fs.existsSync(path.join(DATA, 'test-watchdog', `${HOST_B.id}.fenced.json`)), 60_000);
      for (const i of cs) expect(await pings(i.ip)).toBe(false);
      await waitUntil('automatic failover', async () => {
        const now = await Promise.all(cs.map((i) => instance(i.id)));
        return now.every((i) => i.hostId === HOST_A.id && i.state === 'running');
      }, 90_000);
      for (const i of cs) await waitUntil(`${i.name} on A`, () => pings(i.ip), 60_000);
      // The instances run on A before the evacuation has written its end (its last steps follow the moves).
      const lastFailover = () => db('operations').where({ host_id: HOST_B.id, type: 'evacuate' }).orderBy('created_at', 'desc').first();
      await waitUntil('the failover to end', async () => !['pending', 'running'].includes((await lastFailover())?.state), 120_000);
      const failover = await lastFailover();
      expect(failover).toMatchObject({ state: 'succeeded', requested_by: null });
      expect(failover.result).toMatchObject({ fencedBy: 'self', failed: 0 });
    } finally {
      await watcher.stop();
      fs.rmSync(partition, { force: true });
      await db('zones').where({ id: TEST_ZONE.id }).update({ auto_failover: false });
    }
    expect(watcher.seen).toEqual([]);
    await waitUntil('B\'s copies to be destroyed once it is back', async () => !(await hasCopy(HOST_B, cs[0].id)) && !(await hasCopy(HOST_B, cs[1].id)), 120_000);
    expect(await db('hosts').where({ id: HOST_B.id }).first()).toMatchObject({ fenced_by: 'self' });
    await expectSettled(180_000);
  });

  test('a dead host (agent and engine gone, VMs off) fails over by itself: every instance answers ping on A, within a minute', async () => {
    const cs = [await container('dead-1', HOST_B.id), await container('dead-2', HOST_B.id), await container('dead-3', HOST_B.id)];
    await db('zones').where({ id: TEST_ZONE.id }).update({ auto_failover: true });
    try {
      await stopProcess(`${HOST_B.id}-watchdog`, 'SIGKILL');
      await stopProcess(HOST_B.id, 'SIGKILL');
      await run('/bin/bash', [path.join(projectRoot, 'scripts', 'fence-sim.sh'), DATA]);
      const died = Date.now();
      for (const i of cs) await waitUntil(`${i.name} on A`, async () => (await instance(i.id)).hostId === HOST_A.id && pings(i.ip), 60_000 - (Date.now() - died));
      const seconds = (Date.now() - died) / 1000;
      console.log(`failover: ${cs.length} containers answering on A ${seconds.toFixed(1)} s after host B died`);
      expect(seconds).toBeLessThan(60);
    } finally {
      await db('zones').where({ id: TEST_ZONE.id }).update({ auto_failover: false });
    }
    await bringBackB();
    await waitUntil('B\'s copies to be destroyed once it is back', async () => (await db('stale_copies').where({ host_id: HOST_B.id })).length === 0, 120_000);
    await expectSettled(180_000);
  });

  test('an agent restarted in the middle of an evacuation: the evacuation ends and no copy stays on the host', async () => {
    const cs = [await container('mid-1', HOST_B.id), await container('mid-2', HOST_B.id), await container('mid-3', HOST_B.id)];
    const step = `host-${HOST_A.id}.plumbNetwork`;
    holds.set(step);
    const evac = await api.post(`/v1/hosts/${HOST_B.id}/evacuate`, { concurrency: 1 });
    await holds.reached(step);
    await stopProcess(HOST_B.id, 'SIGKILL');
    startHostAgent(HOST_B);
    holds.release(step);
    expect(await waitForOperation(api, evac.body.operation.id, 300_000)).toMatchObject({ state: 'succeeded', result: { done: 3, failed: 0 } });
    await waitUntil('no copy left on B', async () => !(await Promise.all(cs.map((i) => hasCopy(HOST_B, i.id)))).some(Boolean), 60_000);
    await expectSettled(180_000);
  });

  test('evacuate, then restore: the instances come back to their host with their addresses and their data', async () => {
    const cs = [await container('maint-1', HOST_B.id), await container('maint-2', HOST_B.id)];
    for (const i of cs) await inside(HOST_B, 'docker', i.id, `echo ${i.name} > /root/marker; sync`);
    const evac = await api.post(`/v1/hosts/${HOST_B.id}/evacuate`, {});
    expect(await waitForOperation(api, evac.body.operation.id, 180_000)).toMatchObject({ state: 'succeeded', result: { moved: expect.arrayContaining(cs.map((i) => i.id)) } });
    expect((await db('hosts').where({ id: HOST_B.id }).first()).state).toBe('disabled');
    const restore = await api.post(`/v1/hosts/${HOST_B.id}/restore`, { concurrency: 2 });
    expect(restore.status).toBe(202);
    expect(await waitForOperation(api, restore.body.operation.id, 180_000)).toMatchObject({ state: 'succeeded', result: { done: 2, failed: 0 } });
    expect((await db('hosts').where({ id: HOST_B.id }).first()).state).toBe('enabled');
    for (const i of cs) {
      expect(await instance(i.id)).toMatchObject({ hostId: HOST_B.id, ip: i.ip, mac: i.mac, state: 'running' });
      await waitUntil(`${i.name} back on B`, () => pings(i.ip), 60_000);
      expect((await inside(HOST_B, 'docker', i.id, 'cat /root/marker')).trim()).toBe(i.name);
      expect(await hasCopy(HOST_A, i.id)).toBe(false);
    }
    await replayAndRecord({ 'evacuate-for-maintenance': evac.body.operation.workflowId, 'restore-host': restore.body.operation.workflowId });
    await expectSettled(180_000);
  });
});
