import fs from 'node:fs';
import Docker from 'dockerode';
import type { Knex } from 'knex';
import { apiClient, assertAddressInvariants, createBody, pings, testDb, waitForOperation, waitUntil, type ApiClient } from '../helpers/platform';
import { HOST_A, STATE_FILE, TEST_ZONE } from '../helpers/env';
import { startProcess, stopProcess } from '../helpers/processes';

const pidOf = (name: string): number => JSON.parse(fs.readFileSync(STATE_FILE, 'utf8'))[name];

describe('a control worker killed in the middle of a create', () => {
  let api: ApiClient;
  let db: Knex;
  beforeAll(() => { api = apiClient(); db = testDb(); });
  afterAll(async () => {
    // Whatever happened, the host agent must not stay stopped for the files after this one.
    try { process.kill(pidOf(HOST_A.id), 'SIGCONT'); } catch { /* not running */ }
    await db.destroy();
  });

  test('a new worker finishes it: exactly one running instance, one allocated IP, one container', async () => {
    const allocatedBefore = (await db('ip_addresses').where({ zone_id: TEST_ZONE.id, state: 'allocated' })).length;
    // Hold the host agent so the create stops at its first host step, with the control steps done.
    process.kill(pidOf(HOST_A.id), 'SIGSTOP');
    const res = await api.post('/v1/instances', createBody('crash-1', { host: HOST_A.id }));
    expect(res.status).toBe(202);
    const id = res.body.instance.id;
    await waitUntil('placement and an address', async () => {
      const row = await db('instances').where({ id }).first();
      return Boolean(row.host_id && row.ip);
    });

    await stopProcess('control-worker', 'SIGKILL');
    process.kill(pidOf(HOST_A.id), 'SIGCONT');
    // The host steps finish without a control worker; the workflow cannot move on until one returns.
    await new Promise((r) => setTimeout(r, 4000));
    expect((await api.get(`/v1/operations/${res.body.operation.id}`)).body.state).toBe('running');

    startProcess('control-worker', 'control-worker');
    const op = await waitForOperation(api, res.body.operation.id);
    expect(op.state).toBe('succeeded');

    // Other files may have left deleted instances of that name behind; none other may be live.
    const rows = await db('instances').where({ name: 'crash-1' }).whereNot({ state: 'deleted' });
    expect(rows).toHaveLength(1);
    expect(rows[0].id).toBe(id);
    expect(rows[0].state).toBe('running');
    expect(await db('ip_addresses').where({ instance_id: id })).toHaveLength(1);
    expect(await db('ip_addresses').where({ zone_id: TEST_ZONE.id, state: 'allocated' })).toHaveLength(allocatedBefore + 1);
    const docker = new Docker({ socketPath: HOST_A.dockerSocket });
    const mine = await docker.listContainers({ all: true, filters: { label: [`vcloud.instance=${id}`] } });
    expect(mine).toHaveLength(1);
    expect(await pings(rows[0].ip)).toBe(true);
    await assertAddressInvariants(db);

    const del = await api.del(`/v1/instances/${id}`);
    expect((await waitForOperation(api, del.body.operation.id)).state).toBe('succeeded');
  });
});
