import fs from 'node:fs';
import tls from 'node:tls';
import path from 'node:path';
import type { Knex } from 'knex';
import { projectRoot } from '../../lib/config';
import { run } from '../../host/run';
import { adminToken, apiClient, assertAddressInvariants, createBody, testDb, waitForOperation, waitUntil, type ApiClient } from '../helpers/platform';
import { DATA, HOST_A, HOST_B, TEMPORAL_ADDRESS } from '../helpers/env';
import { startProcess, stopProcess } from '../helpers/processes';
import { expectSettled, holds } from '../helpers/operator';

// The platform in its scale-out shape (`npm run test:cluster`, scripts/test-cluster.sh): a two-node
// Temporal cluster on PostgreSQL behind haproxy, two APIs, two control workers, two hosts. With
// operations in flight, a Temporal node, a control worker and an API die (SIGKILL): every operation
// still ends as it should, through what is left, and the invariants hold.
const CLUSTER = process.env.VCLOUD_TC_NAME ?? '';
const API_2 = 'http://127.0.0.1:18081';
const nodePid = (n: number) => Number(fs.readFileSync(path.join(DATA, 'pids', `${CLUSTER}-node${n}.pid`), 'utf8'));
const alive = (pid: number) => { try { process.kill(pid, 0); return true; } catch { return false; } };

async function killNode(n: number): Promise<void> {
  const pid = nodePid(n);
  process.kill(pid, 'SIGKILL');
  await waitUntil(`Temporal node ${n} to be gone`, async () => !alive(pid) || fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(' ')[2] === 'Z', 10_000);
}
/** Node n's history port (VCLOUD_TC_PORT_BASE + 10(n-1) + 3): what the other services call it on. */
const historyPort = (n: number) => Number(process.env.VCLOUD_TC_PORT_BASE) + 10 * (n - 1) + 3;
/** A TLS handshake with the cluster's CA, with or without the node certificate: does the port take it? */
function handshake(port: number, withCert: boolean): Promise<'taken' | 'refused'> {
  const dir = path.join(DATA, `${CLUSTER}-tls`);
  const read = (f: string) => fs.readFileSync(path.join(dir, f));
  return new Promise((resolve) => {
    const socket = tls.connect({
      host: '127.0.0.1', port, servername: 'localhost', ca: read('ca.pem'), ALPNProtocols: ['h2'],
      ...(withCert ? { cert: read('node.pem'), key: read('node.key') } : {}),
    });
    let settled = false;
    const end = (how: 'taken' | 'refused') => { if (!settled) { settled = true; socket.destroy(); resolve(how); } };
    // TLS 1.3 refuses a missing client certificate after the handshake: wait a moment for it.
    socket.once('secureConnect', () => (socket.authorized ? setTimeout(() => end('taken'), 500) : end('refused')));
    socket.once('error', () => end('refused'));
    socket.once('close', () => end('refused'));
    socket.setTimeout(5000, () => end('refused'));
  });
}
const startNode = (n: number) => run('bash', [path.join(projectRoot, 'scripts', 'temporal-cluster.sh'), 'start-node', String(n)], 120_000);

describe('scale-out: a Temporal cluster, two control workers and two APIs survive losing one of each', () => {
  let admin: ApiClient;
  let admin2: ApiClient;
  let db: Knex;
  const made: string[] = [];

  beforeAll(async () => {
    if (!/^temporal_cluster/.test(CLUSTER) || TEMPORAL_ADDRESS === '127.0.0.1:7233') throw new Error('run this with `npm run test:cluster`, which starts its cluster');
    admin = apiClient();
    admin2 = apiClient(adminToken(), API_2);
    db = testDb();
    startProcess('api-2', 'api', { VCLOUD_API_PORT: '18081' });
    startProcess('control-worker-2', 'control-worker');
    await waitUntil('the second API', async () => (await fetch(`${API_2}/healthz`)).ok);
  }, 60_000);
  afterAll(async () => {
    await db.destroy();
  });

  async function created(name: string, host: string): Promise<string> {
    const res = await admin.post('/v1/instances', createBody(name, { host }));
    expect(res.status).toBe(202);
    expect(await waitForOperation(admin, res.body.operation.id)).toMatchObject({ state: 'succeeded' });
    made.push(res.body.instance.id);
    return res.body.instance.id;
  }

  test('the nodes call each other over mutual TLS only: a caller without the cluster\'s certificate is refused', async () => {
    for (const n of [1, 2]) {
      expect(await handshake(historyPort(n), true)).toBe('taken');
      expect(await handshake(historyPort(n), false)).toBe('refused');
    }
  });

  test('node 1, control worker 1 and API 1 killed with creates, a migrate and an evacuation in flight: all end, all on A, B disabled', async () => {
    const toMigrate = await created('so-mig', HOST_B.id);
    const toEvacuate = await created('so-evac', HOST_B.id);
    // Every build on A waits at its first host step until the kills are done.
    const step = `host-${HOST_A.id}.createInstance`;
    holds.set(step);
    const ops: { what: string; id: string }[] = [];
    try {
      for (let k = 0; k < 3; k++) {
        const res = await admin.post('/v1/instances', createBody(`so-new-${k}`, { host: HOST_A.id }));
        expect(res.status).toBe(202);
        made.push(res.body.instance.id);
        ops.push({ what: `create ${k}`, id: res.body.operation.id });
      }
      const mig = await admin.post(`/v1/instances/${toMigrate}/migrate`, { host: HOST_A.id, snapshot: 'none' });
      expect(mig.status).toBe(202);
      ops.push({ what: 'migrate', id: mig.body.operation.id });
      await holds.reached(step);
      const evac = await admin.post(`/v1/hosts/${HOST_B.id}/evacuate`, { concurrency: 2 });
      expect(evac.status).toBe(202);
      ops.push({ what: 'evacuate', id: evac.body.operation.id });
      await waitUntil('the evacuation to start its move', async () =>
        (await db('operations').where({ instance_id: toEvacuate, type: 'migrate' }).first('id')) !== undefined, 60_000);

      const inFlight = await db('operations').whereIn('id', ops.map((o) => o.id)).where({ state: 'running' }).pluck('id');
      expect(inFlight.sort()).toEqual(ops.map((o) => o.id).sort());
      await killNode(1);
      await stopProcess('control-worker', 'SIGKILL');
      await stopProcess('api', 'SIGKILL');
    } finally {
      holds.release(step);
    }

    for (const op of ops) {
      const done = await waitForOperation(admin2, op.id, 300_000);
      expect({ what: op.what, state: done.state, error: done.error ?? null }).toEqual({ what: op.what, state: 'succeeded', error: null });
    }
    const evacuation = await waitForOperation(admin2, ops.find((o) => o.what === 'evacuate')!.id);
    expect(evacuation.result).toMatchObject({ failed: 0 });
    for (const id of made) expect((await admin2.get(`/v1/instances/${id}`)).body).toMatchObject({ state: 'running', hostId: HOST_A.id });
    expect((await db('hosts').where({ id: HOST_B.id }).first('state')).state).toBe('disabled');
    await assertAddressInvariants(db);

    await startNode(1);
    startProcess('control-worker', 'control-worker');
    await expectSettled(180_000);
  }, 600_000);

  test('node 2 killed: a create and every delete still end', async () => {
    await killNode(2);
    try {
      const res = await admin2.post('/v1/instances', createBody('so-late', { host: HOST_A.id }));
      expect(res.status).toBe(202);
      made.push(res.body.instance.id);
      expect(await waitForOperation(admin2, res.body.operation.id, 180_000)).toMatchObject({ state: 'succeeded' });
      for (const id of made) {
        const del = await admin2.del(`/v1/instances/${id}`);
        expect(del.status).toBe(202);
        expect(await waitForOperation(admin2, del.body.operation.id, 180_000)).toMatchObject({ state: 'succeeded' });
      }
      await assertAddressInvariants(db);
    } finally {
      await startNode(2);
    }
    await expectSettled(180_000);
  }, 600_000);
});
