import { platformClient } from './platform-client';
import { intArg, pool, writeResult } from './stats';

// Evacuate a host with N containers at concurrency 1, then (the other way) at concurrency 5:
// wall time per run and the speedup. Needs `VCLOUD_HOSTS=2 npm run up` (hosts local-1, local-2).
const { api, settle } = platformClient(30);
const N = intArg('n', 20, 100);



async function evacuate(from: string, to: string, concurrency: number) {
  await api('PATCH', `/v1/hosts/${to}`, { state: 'enabled' });
  const t0 = Date.now();
  const { operation } = await api('POST', `/v1/hosts/${from}/evacuate`, { concurrency });
  const op = await settle(operation.id);
  const ms = Date.parse(op.finishedAt) - t0;
  if (op.state !== 'succeeded' || op.result.failed > 0) throw new Error(`evacuation failed: ${JSON.stringify(op.result ?? op.error)}`);
  console.log(`evacuate ${from} -> ${to}, ${N} containers, concurrency ${concurrency}: ${(ms / 1000).toFixed(1)} s`);
  return ms;
}

async function main() {
  const hosts = (await api('GET', '/v1/hosts')).items.map((h: { id: string }) => h.id);
  if (!hosts.includes('local-1') || !hosts.includes('local-2')) throw new Error('needs hosts local-1 and local-2: VCLOUD_HOSTS=2 npm run up');
  await api('PATCH', '/v1/hosts/local-1', { state: 'enabled' });
  const tag = Date.now().toString(36);
  const ids = await pool(Array.from({ length: N }, (_, i) => i), 5, async (i) => {
    const { instance, operation } = await api('POST', '/v1/instances', { name: `evac-${tag}-${i}`, zone: 'default', kind: 'docker', image: 'busybox', vcpus: 1, memoryMb: 64, host: 'local-1' });
    const op = await settle(operation.id);
    if (op.state !== 'succeeded') throw new Error(`create failed: ${op.error}`);
    return instance.id as string;
  });
  const one = await evacuate('local-1', 'local-2', 1);
  const five = await evacuate('local-2', 'local-1', 5);
  await api('PATCH', '/v1/hosts/local-2', { state: 'enabled' });
  await pool(ids, 5, async (id) => settle((await api('DELETE', `/v1/instances/${id}`)).operation.id));
  const result = { benchmark: 'evacuate', at: new Date().toISOString(), containers: N, concurrency1Ms: one, concurrency5Ms: five, speedup: +(one / five).toFixed(2) };
  console.log(`speedup ${result.speedup}x; written to ${writeResult('evacuate', result)}`);
}

main().catch((err) => { console.error(err); process.exit(1); });
