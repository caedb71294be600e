import type { Knex } from 'knex';
import { apiClient, createBody, pings, testDb, waitUntil, type ApiClient } from '../helpers/platform';
import { DATA, HOST_A, HOST_B, TEST_API, TEST_LOGS } from '../helpers/env';
import { startHostAgent } from '../helpers/global-setup';
import { startProcess, stopProcess } from '../helpers/processes';
import { hasCopy, inside, virsh } from '../helpers/hosts';
import { expectSettled, holds, temporalCli } from '../helpers/operator';
import { stopByPidFile } from '../../lib/managed-process';
import { run } from '../../host/run';

type Kind = 'create' | 'delete' | 'migrate' | 'evacuate';

/**
 * Crashes and outages at chosen steps, on the real services. Each scenario has a create, a delete, a
 * migrate and an evacuation in flight, each held at a step of its own; then one fault; then
 * everything comes back. Every operation must still succeed (the work is durable), each instance
 * must be where it belongs and answer ping, and the invariant checker must pass. Together: a kill of
 * each process type (control worker, host agents, API) during each workflow type, Postgres down for
 * over two minutes, and a Temporal server restart. bench/chaos runs random faults at random steps.
 */
describe('faults at chosen steps: every operation ends, the invariants hold', () => {
  let api: ApiClient;
  let db: Knex;
  beforeAll(() => { api = apiClient(); db = testDb(); });
  afterAll(() => db.destroy());

  async function container(name: string, host: string) {
    const res = await api.post('/v1/instances', createBody(name, { host }));
    await waitUntil(`${name} to run`, async () => (await db('instances').where({ id: res.body.instance.id }).first()).state === 'running', 120_000);
    return db('instances').where({ id: res.body.instance.id }).first();
  }

  /**
   * A create (on A), a delete (on A), a migrate (B to A) and an evacuation of B, each held at its
   * step in `at`, the fault injected while they are held, then everything brought back. `oneByOne`:
   * each operation gets the fault on its own (its host steps would meet the others' holds).
   */
  async function scenario(name: string, at: Record<Kind, string>, fault: () => Promise<void>, recover: () => Promise<void>, oneByOne = false) {
    // An evacuation leaves its host disabled (and a failed scenario may leave it so): both take work again.
    await db('hosts').whereIn('id', [HOST_A.id, HOST_B.id]).update({ state: 'enabled' });
    const del = await container(`${name}-del`, HOST_A.id);
    const mig = await container(`${name}-mig`, HOST_B.id);
    const evac = await container(`${name}-evac`, HOST_B.id);
    const since = new Date();
    const request: Record<Kind, () => Promise<unknown>> = {
      create: () => api.post('/v1/instances', createBody(`${name}-new`, { host: HOST_A.id })),
      delete: () => api.del(`/v1/instances/${del.id}`),
      migrate: () => api.post(`/v1/instances/${mig.id}/migrate`, { host: HOST_A.id, snapshot: 'none' }),
      evacuate: () => api.post(`/v1/hosts/${HOST_B.id}/evacuate`, { concurrency: 2 }),
    };
    const kinds = Object.keys(at) as Kind[];
    const ops = () => db('operations').where('created_at', '>=', since).whereIn('type', ['create', 'delete', 'migrate', 'evacuate']);
    for (const batch of oneByOne ? kinds.map((k) => [k]) : [kinds]) {
      for (const k of batch) holds.set(at[k]);
      const requests = batch.map((k) => request[k]().catch(() => null));
      for (const k of batch) await holds.reached(at[k]);
      await fault();
      for (const k of batch) holds.release(at[k]);
      await recover();
      await Promise.all(requests);
      await waitUntil(`${name}: ${batch.join(', ')} to end`, async () => (await ops()).every((o) => o.state !== 'running'), 420_000);
    }

    // Every operation of the scenario ended, and succeeded: the faults were transient.
    const rows = await ops();
    expect(rows.length).toBeGreaterThanOrEqual(5);
    expect(rows.map((o) => [o.type, o.state, o.error])).toEqual(rows.map((o) => [o.type, 'succeeded', null]));

    const now = async (n: string) => db('instances').where({ name: n }).whereNot({ state: 'deleted' }).first();
    expect(await db('instances').where({ id: del.id }).first()).toMatchObject({ state: 'deleted', ip: null });
    // Its address was freed (the create of the same scenario may have taken it since).
    expect(await db('ip_addresses').where({ instance_id: del.id })).toEqual([]);
    expect(await hasCopy(HOST_A, del.id)).toBe(false);
    expect(await now(`${name}-new`)).toMatchObject({ state: 'running', host_id: HOST_A.id });
    expect(await now(`${name}-mig`)).toMatchObject({ state: 'running', host_id: HOST_A.id, ip: mig.ip });
    expect(await now(`${name}-evac`)).toMatchObject({ state: 'running', host_id: HOST_A.id, ip: evac.ip });
    for (const n of ['new', 'mig', 'evac']) {
      const i = await now(`${name}-${n}`);
      await waitUntil(`${name}-${n} to answer`, () => pings(i.ip), 60_000);
      expect(await hasCopy(HOST_B, i.id)).toBe(false);
    }
    await db('hosts').where({ id: HOST_B.id }).update({ state: 'enabled' });
    await expectSettled(180_000);
  }

  // Distinct steps, so each hold stops exactly one of the four operations.
  const controlSteps: Record<Kind, string> = {
    create: 'control.provisionCreate', delete: 'control.finishDelete', migrate: 'control.commitMigration', evacuate: 'control.beginChildMigration',
  };
  const hostSteps: Record<Kind, string> = {
    create: `host-${HOST_A.id}.startInstance`, delete: `host-${HOST_A.id}.destroyInstance`,
    migrate: `host-${HOST_A.id}.createInstance`, evacuate: `host-${HOST_B.id}.stopInstance`,
  };

  // A scenario makes three instances and runs four operations through a fault: on a loaded 2-core
  // machine that is more than the suite's default 180 s (its own waits are bounded at 420 s).
  test('kill -9 of the control worker while each operation is at a control step', async () => {
    await scenario('cw', controlSteps, () => stopProcess('control-worker', 'SIGKILL'), async () => {
      startProcess('control-worker', 'control-worker');
    });
  }, 480_000);

  test('kill -9 of both host agents while each operation is at a host step', async () => {
    await scenario('agents', hostSteps, async () => {
      await stopProcess(HOST_A.id, 'SIGKILL');
      await stopProcess(HOST_B.id, 'SIGKILL');
    }, async () => {
      startHostAgent(HOST_A);
      startHostAgent(HOST_B);
    }, true);
  });

  test('kill -9 of the API between its commit and the start of each operation\'s workflow', async () => {
    const after = { create: 'api.after-commit.create', delete: 'api.after-commit.delete', migrate: 'api.after-commit.migrate', evacuate: 'api.after-commit.evacuate' };
    await scenario('api', after, () => stopProcess('api', 'SIGKILL'), async () => {
      startProcess('api', 'api');
      await waitUntil('the API', async () => (await fetch(`${TEST_API}/healthz`)).ok);
    });
  });

  test('a restart of the Temporal server while each operation is at a control step', async () => {
    let relaunch: (logFile: string) => number = () => 0;
    await scenario('temporal', controlSteps, async () => {
      relaunch = await stopByPidFile(`${DATA}/pids/temporal.pid`, 'SIGTERM');
    }, async () => {
      relaunch(`${TEST_LOGS}/temporal-restarted.log`);
      await waitUntil('the Temporal server', () => temporalCli('operator', 'namespace', 'describe', 'default').then(() => true), 90_000);
    });
  });

  test('kill -9 of the agent while a VM snapshot holds the guest\'s filesystems frozen: the VM ends running and thawed', async () => {
    const res = await api.post('/v1/instances', createBody('frozen-vm', { kind: 'kvm', image: 'busybox-vm', memoryMb: 160, host: HOST_A.id }));
    await waitUntil('the VM', async () => (await db('instances').where({ id: res.body.instance.id }).first()).state === 'running', 120_000);
    const vm = await db('instances').where({ id: res.body.instance.id }).first();
    await inside(HOST_A, 'kvm', vm.id, 'true');
    const agent = (cmd: string) => virsh(HOST_A, 'qemu-agent-command', `vc-${vm.id}`, JSON.stringify({ execute: cmd })).then((o) => JSON.parse(o).return);
    holds.set('snapshot.frozen');
    const snap = await api.post(`/v1/instances/${vm.id}/snapshots`);
    await holds.reached('snapshot.frozen');
    expect(await agent('guest-fsfreeze-status')).toBe('frozen');
    await stopProcess(HOST_A.id, 'SIGKILL');
    holds.release('snapshot.frozen');
    startHostAgent(HOST_A);
    await waitUntil('the snapshot to end', async () => (await db('operations').where({ id: snap.body.operation.id }).first()).state !== 'running', 180_000);
    await waitUntil('the guest to be thawed', async () => (await agent('guest-fsfreeze-status')) === 'thawed', 60_000);
    expect(await db('instances').where({ id: vm.id }).first()).toMatchObject({ state: 'running' });
    await waitUntil('the VM to answer', () => pings(vm.ip), 60_000);
    const del = await api.del(`/v1/instances/${vm.id}`);
    await waitUntil('its delete', async () => (await db('operations').where({ id: del.body.operation.id }).first()).state === 'succeeded', 120_000);
    await expectSettled();
  });

  test('Postgres down for over two minutes while each operation is at a control step', async () => {
    const version = (await run('pg_lsclusters', ['-h'])).split('\n').find((l) => /\smain\s/.test(l))!.split(/\s+/)[0];
    await scenario('pg', controlSteps, async () => {
      await run('pg_ctlcluster', [version, 'main', 'stop', '-m', 'fast']);
    }, async () => {
      await new Promise((r) => setTimeout(r, 130_000));
      await run('pg_ctlcluster', [version, 'main', 'start']);
      await waitUntil('Postgres', () => db.raw('select 1').then(() => true), 60_000);
    });
  }, 900_000);
});
