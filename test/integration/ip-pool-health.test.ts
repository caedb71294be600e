import type { Knex } from 'knex';
import { apiClient, createBody, pings, temporalClient, testDb, waitForOperation, waitUntil, type ApiClient } from '../helpers/platform';
import { HOST_A, TEST_IP_HEALTH_SCHEDULE, TEST_RELEASE_AFTER, TEST_ZONE } from '../helpers/env';
import { run } from '../../host/run';
import { replayAndRecord } from '../helpers/replay';

// An intruder: a network namespace of the test's own, holding a free pool address on the zone bridge.
const NS = 'vc-intruder';
const VETH = { host: 'vcintr-h', ns: 'vcintr-n' };

async function addIntruder(ip: string) {
  await removeIntruder();
  await run('ip', ['netns', 'add', NS]);
  await run('ip', ['link', 'add', VETH.host, 'type', 'veth', 'peer', 'name', VETH.ns]);
  await run('ip', ['link', 'set', VETH.host, 'master', TEST_ZONE.bridge]);
  await run('ip', ['link', 'set', VETH.host, 'up']);
  await run('ip', ['link', 'set', VETH.ns, 'netns', NS]);
  await run('ip', ['-n', NS, 'addr', 'add', `${ip}/24`, 'dev', VETH.ns]);
  await run('ip', ['-n', NS, 'link', 'set', VETH.ns, 'up']);
  await run('ip', ['-n', NS, 'link', 'set', 'lo', 'up']);
}

async function removeIntruder() {
  await run('ip', ['link', 'del', VETH.host]).catch(() => undefined);
  await run('ip', ['netns', 'del', NS]).catch(() => undefined);
}

describe('scheduled IP-pool health check', () => {
  let admin: ApiClient;
  let db: Knex;
  beforeAll(() => { admin = apiClient(); db = testDb(); });
  afterAll(async () => {
    await removeIntruder();
    await db.destroy();
  });

  const check = async () => {
    const res = await admin.post('/v1/ip-health/checks');
    expect(res.status).toBe(202);
    expect(res.body.operation.workflowId).toMatch(/^ip-pool-health-manual-/);
    const op = await waitForOperation(admin, res.body.operation.id);
    expect(op.state).toBe('succeeded');
    return { op, zones: op.result.zones as any[], workflowId: res.body.operation.workflowId as string };
  };
  const stateOf = async (ip: string) => (await db('ip_addresses').where({ zone_id: TEST_ZONE.id, address: ip }).first()).state;

  test('the Schedule exists with the configured interval and workflow', async () => {
    const temporal = await temporalClient();
    try {
      // The control worker makes it as it starts, which the platform's set-up does not wait for.
      const handle = temporal.client.schedule.getHandle(TEST_IP_HEALTH_SCHEDULE);
      await waitUntil('the control worker to make the Schedule', async () => Boolean(await handle.describe()), 30_000);
      const d = await handle.describe();
      expect(d.spec.intervals?.[0].every).toBe(3600_000);
      expect(d.action).toMatchObject({ type: 'startWorkflow', workflowType: 'ipPoolHealth', taskQueue: 'vcloud-control-test' });
    } finally {
      await temporal.close();
    }
  });

  test('an answering free address is quarantined, skipped by allocation, and free again after K silent checks', async () => {
    await db('zones').insert({ id: 'nohost', subnet: '10.231.0.0/24', gateway: '10.231.0.1', bridge: 'vcnohost0' }).onConflict('id').ignore();
    const lowestFree: string = (await db('ip_addresses').where({ zone_id: TEST_ZONE.id, state: 'free' }).orderBy('sort_key').first()).address;
    await addIntruder(lowestFree);
    await waitUntil('the intruder to answer', () => pings(lowestFree), 10_000);

    const first = await check();
    const mine = first.zones.find((z) => z.zone === TEST_ZONE.id);
    expect(mine).toMatchObject({ checked: true, quarantined: [lowestFree], answered: [lowestFree] });
    expect(mine.probed).toBeGreaterThan(200);
    expect(first.zones.find((z) => z.zone === 'nohost')).toMatchObject({ checked: false, reason: 'no live host in the zone' });
    expect(await stateOf(lowestFree)).toBe('quarantined');
    const runs = (await admin.get(`/v1/ip-health/runs?zone=${TEST_ZONE.id}&limit=1`)).body.items;
    expect(runs[0]).toMatchObject({ workflowId: first.workflowId, quarantined: [lowestFree] });
    const temporal = await temporalClient();
    try {
      const result = await temporal.client.workflow.getHandle(first.workflowId).result();
      expect(result.find((z: { zone: string }) => z.zone === TEST_ZONE.id).quarantined).toEqual([lowestFree]);
    } finally {
      await temporal.close();
    }

    await replayAndRecord({ 'ip-pool-health': first.workflowId });

    const created = await admin.post('/v1/instances', createBody('after-intruder', { host: HOST_A.id }));
    expect(await waitForOperation(admin, created.body.operation.id)).toMatchObject({ state: 'succeeded' });
    const ip = (await admin.get(`/v1/instances/${created.body.instance.id}`)).body.ip;
    expect(ip).not.toBe(lowestFree);

    // Still there: stays quarantined, the silent count does not move.
    await check();
    expect(await stateOf(lowestFree)).toBe('quarantined');

    await removeIntruder();
    for (let i = 1; i <= TEST_RELEASE_AFTER; i++) {
      const { zones } = await check();
      const z = zones.find((x) => x.zone === TEST_ZONE.id);
      if (i < TEST_RELEASE_AFTER) {
        expect(await stateOf(lowestFree)).toBe('quarantined');
        expect(z.released).toEqual([]);
      } else {
        expect(z.released).toEqual([lowestFree]);
      }
    }
    expect(await stateOf(lowestFree)).toBe('free');
    const del = await admin.del(`/v1/instances/${created.body.instance.id}`);
    expect((await waitForOperation(admin, del.body.operation.id)).state).toBe('succeeded');
  });
});
