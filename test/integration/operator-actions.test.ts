import fs from 'node:fs';
import path from 'node:path';
import crypto from 'node:crypto';
import { execFile } from 'node:child_process';
import type { Knex } from 'knex';
import { apiClient, createBody, pings, temporalClient, testDb, waitForOperation, waitUntil, type ApiClient } from '../helpers/platform';
import { DATA, HOST_A, HOST_B, TEST_API_PORT, TEST_CONTROL_QUEUE, TEST_RECONCILE_SCHEDULE, processEnv } from '../helpers/env';
import { replayAndRecord } from '../helpers/replay';
import { checkInvariants, reconcile } from '../../workflows';
import { startProcess, stopProcess } from '../helpers/processes';
import { docker, hasCopy, inside, virsh } from '../helpers/hosts';
import { engineB, expectSettled, holds, invariants, temporalCli } from '../helpers/operator';
import { hostVethExists, vethAlias, vethNames } from '../../host/bridge-plumbing';
import { run } from '../../host/run';

// What an operator does in the Temporal UI (Cancel, Terminate, Reset), done through the temporal
// CLI (the same server calls), at chosen steps (test holds), on the real platform. After each,
// the operation has ended, the instance is consistent and the invariant checker passes.
describe('operator actions in the Temporal UI, crashes between steps, and an inventory that matches the engines', () => {
  let api: ApiClient;
  let db: Knex;
  /** Workflows whose histories are replayed (and with VCLOUD_RECORD_HISTORIES=1, recorded) at the end. */
  const recorded: Record<string, string> = {};
  beforeAll(() => { api = apiClient(); db = testDb(); });
  afterAll(() => db.destroy());

  async function container(name: string, host = HOST_A.id) {
    const res = await api.post('/v1/instances', createBody(name, { host }));
    expect(await waitForOperation(api, res.body.operation.id)).toMatchObject({ state: 'succeeded' });
    return (await api.get(`/v1/instances/${res.body.instance.id}`)).body;
  }
  const cancel = (workflowId: string) => temporalCli('workflow', 'cancel', '--workflow-id', workflowId);
  const instance = async (id: string) => (await api.get(`/v1/instances/${id}`)).body;
  const addressOf = (ip: string) => db('ip_addresses').where({ address: ip }).first();
  /** Holds a step, starts the request, waits for the step, cancels the workflow, lets the step go. */
  async function cancelAt(step: string, request: () => Promise<{ body: any }>) {
    holds.set(step);
    const res = await request();
    expect(res.body.operation).toBeDefined();
    await holds.reached(step);
    await cancel(res.body.operation.workflowId);
    holds.release(step);
    return waitForOperation(api, res.body.operation.id, 60_000);
  }

  test('Cancel of a KVM create a moment after it was accepted: cancelled, the instance failed with nothing held, no domain or disk; it can be deleted', async () => {
    const res = await api.post('/v1/instances', createBody('cancel-vm', { kind: 'kvm', image: 'busybox-vm', memoryMb: 160, host: HOST_A.id }));
    expect(res.status).toBe(202);
    await cancel(res.body.operation.workflowId);
    const op = await waitForOperation(api, res.body.operation.id, 60_000);
    const id = res.body.instance.id;
    expect(op.state).toMatch(/^(cancelled|succeeded)$/);
    if (op.state === 'cancelled') {
      expect(await instance(id)).toMatchObject({ state: 'failed', ip: null });
      expect(await db('ip_addresses').where({ instance_id: id })).toEqual([]);
      expect(await hasCopy(HOST_A, id)).toBe(false);
      expect(fs.existsSync(path.join(DATA, 'disks', HOST_A.id, `vc-${id}.raw`))).toBe(false);
      expect((await api.get(`/v1/instances/${id}/actions`)).body.items).toContainEqual(expect.objectContaining({
        operationId: res.body.operation.id, type: 'create', state: 'cancelled', operatorActions: ['cancelled'],
      }));
    }
    const del = await api.del(`/v1/instances/${id}`);
    expect(del.status).toBe(202);
    expect(await waitForOperation(api, del.body.operation.id)).toMatchObject({ state: 'succeeded' });
    expect(await instance(id)).toMatchObject({ state: 'deleted' });
  });

  test('Cancel of a KVM create while its disk is being made: the same, for certain', async () => {
    const op = await cancelAt(`host-${HOST_A.id}.createInstance`, () =>
      api.post('/v1/instances', createBody('cancel-vm-2', { kind: 'kvm', image: 'busybox-vm', memoryMb: 160, host: HOST_A.id })));
    expect(op).toMatchObject({ state: 'cancelled', error: 'cancelled' });
    recorded['create-cancelled'] = op.workflowId;
    expect(await instance(op.instanceId)).toMatchObject({ state: 'failed', ip: null });
    expect(await hasCopy(HOST_A, op.instanceId)).toBe(false);
    expect(fs.existsSync(path.join(DATA, 'disks', HOST_A.id, `vc-${op.instanceId}.raw`))).toBe(false);
    await expectSettled();
  });

  test('Cancel of a delete while its host destroys the container: the repair finishes the delete, the address is free only then', async () => {
    const c = await container('cancel-del');
    const op = await cancelAt(`host-${HOST_A.id}.destroyInstance`, () => api.del(`/v1/instances/${c.id}`));
    expect(op.state).toBe('cancelled');
    expect(await instance(c.id)).toMatchObject({ state: 'repairing' });
    expect(await addressOf(c.ip)).toMatchObject({ state: 'allocated', instance_id: c.id });
    await waitUntil('the repair to finish the delete', async () => (await instance(c.id)).state === 'deleted', 60_000);
    recorded['delete-cancelled'] = op.workflowId;
    recorded['repair-to-deleted'] = (await db('operations').where({ instance_id: c.id, type: 'repair' }).first()).workflow_id;
    expect(await hasCopy(HOST_A, c.id)).toBe(false);
    expect(await addressOf(c.ip)).toMatchObject({ state: 'free' });
    await expectSettled();
  });

  test('Cancel of a stop while its host step waits: cancelled, still running, answering ping within 60 s (had the host stopped it, the reconciler starts it)', async () => {
    const c = await container('cancel-stop');
    const op = await cancelAt(`host-${HOST_A.id}.actOnInstance`, () => api.post(`/v1/instances/${c.id}/actions`, { action: 'stop' }));
    expect(op.state).toBe('cancelled');
    expect(await instance(c.id)).toMatchObject({ state: expect.stringMatching(/^(running|repairing)$/) });
    await waitUntil('ping', () => pings(c.ip), 60_000);
    await expectSettled();
  });

  test('Cancel of a migrate while the target is built: back on its source, running, answering ping, no copy on the target', async () => {
    const c = await container('cancel-mig');
    const op = await cancelAt(`host-${HOST_B.id}.createInstance`, () => api.post(`/v1/instances/${c.id}/migrate`, { snapshot: 'none' }));
    expect(op.state).toBe('cancelled');
    expect(await instance(c.id)).toMatchObject({ state: 'running', hostId: HOST_A.id, ip: c.ip });
    await waitUntil('ping on the source', () => pings(c.ip), 30_000);
    expect(await hasCopy(HOST_B, c.id)).toBe(false);
    expect((await db('instances').where({ id: c.id }).first()).target_host_id).toBeNull();
    await expectSettled();
  });

  test('Cancel of a stopped instance\'s migrate: it stays stopped where it was', async () => {
    const c = await container('cancel-mig-stopped');
    expect(await waitForOperation(api, (await api.post(`/v1/instances/${c.id}/actions`, { action: 'stop' })).body.operation.id)).toMatchObject({ state: 'succeeded' });
    const op = await cancelAt(`host-${HOST_B.id}.createInstance`, () => api.post(`/v1/instances/${c.id}/migrate`, { snapshot: 'none' }));
    expect(op.state).toBe('cancelled');
    expect(await instance(c.id)).toMatchObject({ state: 'stopped', hostId: HOST_A.id });
    expect(await docker(HOST_A, 'inspect', '-f', '{{.State.Running}}', `vc-${c.id}`)).toMatch(/false/);
    await expectSettled();
  });

  test('Cancel of an evacuation while a move runs: that move is undone, the host is enabled again, its instances stay', async () => {
    const a = await container('cancel-evac-1', HOST_B.id);
    const b = await container('cancel-evac-2', HOST_B.id);
    const op = await cancelAt(`host-${HOST_A.id}.createInstance`, () => api.post(`/v1/hosts/${HOST_B.id}/evacuate`, { concurrency: 1 }));
    expect(op.state).toBe('cancelled');
    expect((await db('hosts').where({ id: HOST_B.id }).first()).state).toBe('enabled');
    for (const c of [a, b]) {
      expect(await instance(c.id)).toMatchObject({ state: 'running', hostId: HOST_B.id });
      await waitUntil(`${c.name} to answer`, () => pings(c.ip), 30_000);
    }
    await expectSettled();
  });

  test('Cancel of a conversion while its host works: the target image is failed', async () => {
    const steps = [HOST_A.id, HOST_B.id].map((h) => `host-${h}.convertTgzToDocker`);
    for (const s of steps) holds.set(s);
    const res = await api.post('/v1/images/busybox-tgz/convert', { to: 'docker', name: `cancelled-convert-${Date.now()}` });
    expect(res.status).toBe(202);
    await waitUntil('the conversion to reach its host', async () => steps.some((s) => fs.existsSync(path.join(DATA, 'test-holds', `${s}.reached`))), 60_000);
    await cancel(res.body.operation.workflowId);
    for (const s of steps) holds.release(s);
    expect(await waitForOperation(api, res.body.operation.id, 60_000)).toMatchObject({ state: 'cancelled' });
    expect((await api.get(`/v1/images/${res.body.image.id}`)).body).toMatchObject({ state: 'failed' });
    await expectSettled();
  });

  test('Cancel of a VM snapshot while its filesystems are frozen: the snapshot is failed, the VM thawed and running', async () => {
    const res = await api.post('/v1/instances', createBody('cancel-snap', { kind: 'kvm', image: 'busybox-vm', memoryMb: 160, host: HOST_A.id }));
    expect(await waitForOperation(api, res.body.operation.id)).toMatchObject({ state: 'succeeded' });
    const vm = await instance(res.body.instance.id);
    await inside(HOST_A, 'kvm', vm.id, 'true'); // the guest agent answers
    const op = await cancelAt('snapshot.frozen', () => api.post(`/v1/instances/${vm.id}/snapshots`));
    expect(op.state).toBe('cancelled');
    const status = JSON.parse(await virsh(HOST_A, 'qemu-agent-command', `vc-${vm.id}`, '{"execute":"guest-fsfreeze-status"}')).return;
    expect(status).toBe('thawed');
    expect(await db('snapshots').where({ instance_id: vm.id }).pluck('state')).toEqual(['failed']);
    expect(await instance(vm.id)).toMatchObject({ state: 'running' });
    await expectSettled();
  });

  test('Terminate of a create held at a host step (no code of ours runs): the reconciler fails it as terminated and repairs; the instance is deleted within 2 minutes', async () => {
    const step = `host-${HOST_A.id}.createInstance`;
    holds.set(step);
    const res = await api.post('/v1/instances', createBody('terminated', { host: HOST_A.id }));
    await holds.reached(step);
    await temporalCli('workflow', 'terminate', '--workflow-id', res.body.operation.workflowId, '--reason', 'operator');
    holds.release(step);
    const started = Date.now();
    const op = await waitForOperation(api, res.body.operation.id, 60_000);
    expect(op).toMatchObject({ state: 'failed', error: expect.stringMatching(/terminated/) });
    await waitUntil('the instance to be deletable', async () => (await api.del(`/v1/instances/${res.body.instance.id}`)).status === 202, 120_000 - (Date.now() - started));
    await waitUntil('the delete', async () => (await instance(res.body.instance.id)).state === 'deleted', 60_000);
    expect(await hasCopy(HOST_A, res.body.instance.id)).toBe(false);
    recorded['repair-to-failed'] = (await db('operations').where({ instance_id: res.body.instance.id, type: 'repair' }).first()).workflow_id;
    await expectSettled();
  });

  test('Terminate of a migrate while the target is built: the reconciler puts the instance back on its source, running', async () => {
    const c = await container('terminated-mig');
    const step = `host-${HOST_B.id}.createInstance`;
    holds.set(step);
    const res = await api.post(`/v1/instances/${c.id}/migrate`, { snapshot: 'none' });
    await holds.reached(step);
    await temporalCli('workflow', 'terminate', '--workflow-id', res.body.operation.workflowId, '--reason', 'operator');
    holds.release(step);
    expect(await waitForOperation(api, res.body.operation.id, 60_000)).toMatchObject({ state: 'failed', error: expect.stringMatching(/terminated/) });
    await waitUntil('the repair', async () => (await instance(c.id)).state === 'running', 90_000);
    expect(await instance(c.id)).toMatchObject({ hostId: HOST_A.id, ip: c.ip });
    // The owner's action log shows what the operator did, as the platform saw it.
    expect((await api.get(`/v1/instances/${c.id}/actions`)).body.items).toContainEqual(expect.objectContaining({
      operationId: res.body.operation.id, type: 'migrate', state: 'failed', operatorActions: ['terminated'],
    }));
    await waitUntil('ping on the source', () => pings(c.ip), 30_000);
    expect(await hasCopy(HOST_B, c.id)).toBe(false);
    await expectSettled();
  });

  test('Reset of a cancelled create to its first workflow task ends running with exactly one address; to the task that took the cancel, cancelled again with nothing held', async () => {
    for (const mode of ['first', 'mid-way'] as const) {
      const op = await cancelAt(`host-${HOST_A.id}.plumbNetwork`, () => api.post('/v1/instances', createBody(`reset-${mode}`, { host: HOST_A.id })));
      expect(op.state).toBe('cancelled');
      expect(await instance(op.instanceId)).toMatchObject({ state: 'failed', ip: null });
      if (mode === 'first') {
        await temporalCli('workflow', 'reset', '--workflow-id', op.workflowId, '--type', 'FirstWorkflowTask', '--reason', 'retry');
      } else {
        // The first workflow task provisions and schedules the build; the next one is the cancel's. A run
        // reset to it finds the cancel request in its history: it takes the operation again, and cancels.
        const t = await temporalClient();
        const events = (await t.client.workflow.getHandle(op.workflowId).fetchHistory()).events!;
        await t.close();
        const build = events.find((e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'buildInstance')!;
        const after = events.find((e) => Number(e.eventId) > Number(build.eventId) && e.workflowTaskCompletedEventAttributes)!;
        await temporalCli('workflow', 'reset', '--workflow-id', op.workflowId, '--event-id', String(after.eventId), '--reason', 'retry');
      }
      const want = mode === 'first' ? 'succeeded' : 'cancelled';
      // The action log shows the reset once the new run took the operation; the state, once it closed it.
      const action = async () => ((await api.get(`/v1/instances/${op.instanceId}/actions`)).body.items as any[]).find((a) => a.operationId === op.id);
      await waitUntil(`the reset ${mode} run`, async () => {
        const a = await action();
        return a?.state === want && a.operatorActions.includes('reset') && (await db('operations').where({ id: op.id }).first()).state === want;
      }, 90_000);
      recorded[`create-reset-${mode}`] = op.workflowId;
      const i = await instance(op.instanceId);
      if (mode === 'first') {
        expect(i).toMatchObject({ state: 'running', hostId: HOST_A.id });
        expect(await db('ip_addresses').where({ instance_id: i.id }).pluck('address')).toEqual([i.ip]);
        await waitUntil('ping', () => pings(i.ip), 30_000);
      } else {
        expect(i).toMatchObject({ state: 'failed', ip: null });
        expect(await db('ip_addresses').where({ instance_id: i.id })).toEqual([]);
        expect(await hasCopy(HOST_A, i.id)).toBe(false);
      }
    }
    await expectSettled();
  });

  test('the API dies between its commit and the workflow start: the reconciler starts the workflow from the operation row', async () => {
    const step = 'api.after-commit.create';
    holds.set(step);
    const pending = api.post('/v1/instances', createBody('api-died', { host: HOST_A.id })).catch(() => null);
    await holds.reached(step);
    await stopProcess('api', 'SIGKILL');
    holds.release(step);
    expect(await pending).toBeNull();
    startProcess('api', 'api');
    await waitUntil('the API again', async () => (await fetch(`http://127.0.0.1:${TEST_API_PORT}/healthz`)).ok);
    const row = await db('instances').where({ name: 'api-died' }).first();
    await waitUntil('the reconciler to start the create', async () => (await instance(row.id)).state === 'running', 60_000);
    const ip = (await instance(row.id)).ip;
    await waitUntil('ping', () => pings(ip), 30_000);
    await expectSettled();
  });

  test('when the workflow service cannot be reached, every operation undoes its intent and its Idempotency-Key answers that 503 again', async () => {
    const c = await container('no-temporal');
    startProcess('api-no-temporal', 'api', { VCLOUD_API_PORT: '18081', VCLOUD_TEMPORAL_ADDRESS: '127.0.0.1:9' });
    try {
      await waitUntil('the second API', async () => (await fetch('http://127.0.0.1:18081/healthz')).ok);
      const other = async (method: string, url: string, body?: unknown, key?: string) => {
        const res = await fetch(`http://127.0.0.1:18081${url}`, {
          method, headers: { authorization: api.authorization, 'content-type': 'application/json', ...(key ? { 'idempotency-key': key } : {}) },
          body: body === undefined ? undefined : JSON.stringify(body),
        });
        return { status: res.status, type: res.headers.get('content-type'), body: await res.json() };
      };
      const key = crypto.randomUUID();
      const created = await other('POST', '/v1/instances', createBody('never-started'), key);
      expect(created).toMatchObject({ status: 503, type: expect.stringContaining('problem+json') });
      expect(await other('POST', '/v1/instances', createBody('never-started'), key)).toMatchObject({ status: 503, body: created.body });
      expect(await db('instances').where({ name: 'never-started' }).first()).toMatchObject({ state: 'failed', ip: null });
      // A batch that cannot start leaves no member pending (holding quota).
      expect((await other('POST', '/v1/instances', createBody('never-batch', { count: 2 }))).status).toBe(503);
      expect(await db('instances').where('name', 'like', 'never-batch-%').pluck('state')).toEqual(['failed', 'failed']);
      expect((await other('DELETE', `/v1/instances/${c.id}`)).status).toBe(503);
      expect(await instance(c.id)).toMatchObject({ state: 'running' });
      expect((await other('POST', `/v1/hosts/${HOST_B.id}/evacuate`, {})).status).toBe(503);
      expect((await db('hosts').where({ id: HOST_B.id }).first()).state).toBe('enabled');
      expect((await other('POST', `/v1/instances/${c.id}/actions`, { action: 'stop' })).status).toBe(503);
      expect((await other('POST', `/v1/instances/${c.id}/snapshots`)).status).toBe(503);
      expect(await db('snapshots').where({ instance_id: c.id, state: 'pending' })).toEqual([]);
      expect(await db('operations').where({ instance_id: c.id, state: 'running' })).toEqual([]);
    } finally {
      await stopProcess('api-no-temporal');
    }
    await expectSettled();
  });

  test('after host B\'s dockerd restarts, its running containers are started and re-plumbed by the reconciler: ping at their IPs within 60 s', async () => {
    const cs = [await container('after-restart-1', HOST_B.id), await container('after-restart-2', HOST_B.id)];
    const relaunch = await engineB.stop();
    await engineB.start(relaunch, HOST_B);
    const back = Date.now();
    for (const c of cs) await waitUntil(`${c.name} to answer again`, () => pings(c.ip), 60_000 - (Date.now() - back));
    const events = (await api.get(`/v1/instances/${cs[0].id}/events`)).body.items;
    expect(events.map((e: { kind: string }) => e.kind)).toEqual(expect.arrayContaining(['drift', 'repaired']));
    recorded['repair-drift'] = (await db('operations').where({ instance_id: cs[0].id, type: 'repair' }).first()).workflow_id;
    recorded['reconcile-host'] = `host-${HOST_B.id}-reconcile`;
    await expectSettled();
  });

  test('leftovers without a live instance (a labelled container, a VM disk, a veth) are destroyed after the grace period and reported', async () => {
    const ghost = crypto.randomUUID();
    await docker(HOST_A, 'create', '--name', `vc-${ghost}`, '--label', `vcloud.instance=${ghost}`, '--network', 'none', '127.0.0.1:5000/vcloud/busybox:1', 'sleep', '600');
    const disk = crypto.randomUUID();
    const diskFile = path.join(DATA, 'disks', HOST_A.id, `vc-${disk}.raw`);
    fs.writeFileSync(diskFile, '');
    const veth = crypto.randomUUID();
    const { host, peer } = vethNames(veth, HOST_A.id);
    await run('ip', ['link', 'add', host, 'type', 'veth', 'peer', 'name', peer]);
    await run('ip', ['link', 'set', host, 'alias', vethAlias(HOST_A.id, veth)]);
    await waitUntil('the leftovers to be destroyed', async () =>
      !(await hasCopy(HOST_A, ghost)) && !fs.existsSync(diskFile) && !(await hostVethExists(veth, HOST_A.id)), 60_000);
    // The event is written by the step after the host's destroy, so the last one may trail the engine by a moment.
    const reported = () => db('instance_events').whereIn('instance_id', [ghost, disk, veth]).where({ kind: 'leftover-destroyed' });
    await waitUntil('the three to be reported', async () => (await reported()).length >= 3, 15_000);
    expect((await reported()).map((e) => e.instance_id).sort()).toEqual([ghost, disk, veth].sort());
    await expectSettled();
  });

  test('the invariant checker (npm run check) finds what is off, and the reconciler corrects the hosts\' used capacity', async () => {
    expect((await invariants(true)).ok).toBe(true);
    await temporalCli('schedule', 'toggle', '--schedule-id', TEST_RECONCILE_SCHEDULE, '--pause', '--reason', 'test');
    try {
      await db('hosts').where({ id: HOST_A.id }).increment('used_vcpus', 3);
      const report = await invariants(false);
      expect(report.ok).toBe(false);
      expect(report.violations).toEqual([expect.objectContaining({ rule: 'used capacity equals the claims', detail: expect.stringContaining(HOST_A.id) })]);
      const cli = await new Promise<{ code: number | null; out: string }>((resolve) => {
        execFile(process.execPath, [path.join(__dirname, '..', '..', 'tools', 'check.js')], { env: processEnv() }, (err, stdout) =>
          resolve({ code: err ? Number((err as { code?: number }).code) : 0, out: String(stdout) }));
      });
      expect(cli.code).toBe(1);
      expect(cli.out).toMatch(/VIOLATION \[used capacity equals the claims\] host test-a/);
    } finally {
      await temporalCli('schedule', 'toggle', '--schedule-id', TEST_RECONCILE_SCHEDULE, '--unpause', '--reason', 'test');
    }
    await waitUntil('the reconciler to correct it', async () => (await invariants(false)).ok, 60_000);
    expect(await db('instance_events').where({ kind: 'usage-corrected', host_id: HOST_A.id }).first()).toBeDefined();
  });

  test('the histories of these operations, the repairs, a reconcile round and a check replay against the current workflow code', async () => {
    const t = await temporalClient();
    try {
      recorded.reconcile = `reconcile-now-${Date.now()}`;
      await t.client.workflow.execute(reconcile, { taskQueue: TEST_CONTROL_QUEUE, workflowId: recorded.reconcile });
      recorded['check-invariants'] = `check-now-${Date.now()}`;
      await t.client.workflow.execute(checkInvariants, { taskQueue: TEST_CONTROL_QUEUE, workflowId: recorded['check-invariants'], args: [{}] });
    } finally {
      await t.close();
    }
    expect(Object.keys(recorded)).toHaveLength(10);
    await replayAndRecord(recorded);
  });
});
