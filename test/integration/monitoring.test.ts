import type { Knex } from 'knex';
import { apiClient, deleteInstances, createBody, testDb, waitForOperation, waitUntil, type ApiClient } from '../helpers/platform';
import { HOST_A, HOST_B, TEST_ZONE } from '../helpers/env';
import { startPrometheus } from '../helpers/prometheus';
import { docker, inside } from '../helpers/hosts';
import { run } from '../../host/run';

/**
 * Agentless monitoring: each agent reads its instances from the host (cgroups and veths; libvirt's
 * bulk statistics) and serves them in Prometheus format, labelled with the instance, its host, zone,
 * kind and owner. Nothing runs inside a guest to measure it.
 */
type Series = Map<string, number>;

async function scrape(address: string): Promise<{ text: string; value: (name: string, instanceId: string) => number | undefined }> {
  const text = await (await fetch(`http://${address}/metrics`)).text();
  const series: Series = new Map();
  for (const line of text.split('\n')) {
    const m = /^(\w+)\{([^}]*)\} (\S+)$/.exec(line);
    const id = m && /instance_id="([^"]+)"/.exec(m[2])?.[1];
    if (m && id) series.set(`${m[1]}/${id}`, Number(m[3]));
  }
  return { text, value: (name, id) => series.get(`${name}/${id}`) };
}

describe('agentless monitoring', () => {
  let db: Knex;
  let admin: ApiClient;
  const made: string[] = [];
  beforeAll(() => { db = testDb(); admin = apiClient(); });
  afterAll(async () => {
    await deleteInstances(admin, made);
    await db.destroy();
  }, 180_000);

  async function create(name: string, extra: Record<string, unknown> = {}) {
    const res = await admin.post('/v1/instances', createBody(name, { host: HOST_A.id, ...extra }));
    expect(res.status).toBe(202);
    made.push(res.body.instance.id);
    expect(await waitForOperation(admin, res.body.operation.id, 180_000)).toMatchObject({ state: 'succeeded' });
    return db('instances').where({ id: res.body.instance.id }).first();
  }

  test('a container burning its one vCPU shows at least 80% within 30 s; dd shows disk writes; traffic on the bridge shows the network rate', async () => {
    const c = await create('mon-burn', { vcpus: 1 });
    await docker(HOST_A, 'exec', '-d', `vc-${c.id}`, 'sh', '-c', 'while :; do :; done');
    let cpu = 0;
    await waitUntil('the burner to show', async () => {
      cpu = (await scrape(HOST_A.metricsAddress)).value('vcloud_instance_cpu_percent', c.id) ?? 0;
      return cpu >= 80;
    }, 30_000);
    expect(cpu).toBeLessThanOrEqual(110);
    const { text } = await scrape(HOST_A.metricsAddress);
    const line = text.split('\n').find((l) => l.startsWith('vcloud_instance_memory_limit_bytes{') && l.includes(`instance_id="${c.id}"`)) ?? '';
    for (const label of ['name="mon-burn"', `host="${HOST_A.id}"`, `zone="${TEST_ZONE.id}"`, 'kind="docker"', 'owner="admin"']) expect(line).toContain(label);
    expect(line.endsWith(` ${64 * 2 ** 20}`)).toBe(true);

    await docker(HOST_A, 'exec', '-d', `vc-${c.id}`, 'sh', '-c', 'for i in $(seq 1 200); do dd if=/dev/zero of=/mon-dd bs=1M count=16 conv=fsync 2>/dev/null; done');
    await waitUntil('disk writes to show', async () => ((await scrape(HOST_A.metricsAddress)).value('vcloud_instance_disk_write_bytes_per_second', c.id) ?? 0) > 1e6, 30_000);

    // Bounded traffic to its address over the test bridge: 400 pings, 1 KiB each.
    const flood = run('ping', ['-c', '400', '-i', '0.01', '-s', '1024', '-q', c.ip], 60_000).catch(() => '');
    await waitUntil('the network rate to show', async () => {
      const s = await scrape(HOST_A.metricsAddress);
      return (s.value('vcloud_instance_network_receive_bytes_per_second', c.id) ?? 0) > 10_000
        && (s.value('vcloud_instance_network_transmit_packets_per_second', c.id) ?? 0) > 10;
    }, 30_000);
    await flood;
  }, 300_000);

  test('a real Prometheus finds the agents through the API, and the API answers an instance\'s series from it; Prometheus down is a 503 within seconds', async () => {
    const burner = (await db('instances').where({ name: 'mon-burn' }).whereNot({ state: 'deleted' }).first());
    const user = apiClient(null);
    expect((await user.get('/v1/monitoring/targets')).status).toBe(401);
    expect((await admin.get('/v1/monitoring/targets')).body).toEqual(expect.arrayContaining([
      { targets: [HOST_A.metricsAddress], labels: { vcloud_host: HOST_A.id, vcloud_zone: TEST_ZONE.id } },
      { targets: [HOST_B.metricsAddress], labels: { vcloud_host: HOST_B.id, vcloud_zone: TEST_ZONE.id } },
    ]));
    // Before it runs: a clear 503, quickly.
    const early = Date.now();
    expect(await admin.get(`/v1/instances/${burner.id}/metrics?range=5m&step=5s`)).toMatchObject({ status: 503, body: { detail: expect.stringMatching(/monitoring is unavailable/) } });
    expect(Date.now() - early).toBeLessThan(6_000);

    const prometheus = await startPrometheus('test-prometheus');
    try {
      let last: { status: number; body: any } = { status: 0, body: null };
      await waitUntil('the burner\'s CPU through the API', async () => {
        last = await admin.get(`/v1/instances/${burner.id}/metrics?range=2m&step=2s`);
        return last.status === 200 && last.body.series.cpuPercent.some(([, v]: [number, number]) => v >= 80);
      }, 90_000);
      expect(Object.keys(last.body.series)).toEqual(expect.arrayContaining(['cpuPercent', 'memoryUsedBytes', 'diskWriteBytesPerSecond', 'networkReceiveBytesPerSecond']));
      // Owners read theirs; nobody else's (404). Admins read hosts' and zones' sums.
      const host = await admin.get(`/v1/hosts/${HOST_A.id}/metrics?range=2m&step=2s`);
      expect(host.status).toBe(200);
      expect(host.body.series.cpuPercentSum.length).toBeGreaterThan(0);
      expect((await admin.get(`/v1/zones/${TEST_ZONE.id}/metrics?range=2m&step=2s`)).status).toBe(200);
      expect((await admin.get(`/v1/instances/${burner.id}/metrics?range=1d&step=1s`)).status).toBe(400);
    } finally {
      await prometheus.stop();
    }
    const after = Date.now();
    expect((await admin.get(`/v1/instances/${burner.id}/metrics`)).status).toBe(503);
    expect(Date.now() - after).toBeLessThan(6_000);
  }, 300_000);

  test('a VM under load shows its CPU, memory and the round\'s own cost', async () => {
    const vm = await create('mon-vm', { kind: 'kvm', image: 'busybox-vm', memoryMb: 160 });
    await inside(HOST_A, 'kvm', vm.id, 'sh -c "while :; do :; done" </dev/null >/dev/null 2>&1 &'); // busybox has no nohup
    await waitUntil('the VM\'s CPU to show', async () => ((await scrape(HOST_A.metricsAddress)).value('vcloud_instance_cpu_percent', vm.id) ?? 0) >= 50, 60_000);
    // The domain boots with its maximum (resize headroom) and its balloon gives back the rest: slowly under TCG with the burner.
    await waitUntil('the VM\'s balloon to reach its 160 MB', async () =>
      (await scrape(HOST_A.metricsAddress)).value('vcloud_instance_memory_limit_bytes', vm.id) === 160 * 2 ** 20, 120_000);
    const s = await scrape(HOST_A.metricsAddress);
    expect(s.text).toMatch(/vcloud_agent_monitoring_rounds_total \d+/);
    expect(s.text).toMatch(/vcloud_agent_monitoring_cpu_seconds_total [\d.e-]+/);
  }, 300_000);
});
