import crypto from 'node:crypto';
import { platformClient } from './platform-client';
import { run } from '../host/run';
import { plumb, unplumb } from '../host/bridge-plumbing';
import { macFromIp } from '../lib/net';
import { intArg, percentile, pool, writeResult } from './stats';

// N creates through the API (POST until the operation succeeded) against the same N done
// directly: `docker run` with the same limits, then the same veth plumbing. Runs against the
// platform `npm run up` started. Addresses of the direct runs are on the zone bridge only.
const { manifest, api, settle } = platformClient(15);
const N = intArg('n', 20, 200);
const CONCURRENCY = intArg('concurrency', 5, 20);



/**
 * Latency is from the POST to the operation's own finishedAt (same machine, same clock), so the
 * benchmark's polling neither adds to it nor loads the 2 cores while it waits.
 */
async function viaApi(i: number, runTag: string): Promise<{ ms: number; id: string }> {
  const t0 = Date.now();
  const { instance, operation } = await api('POST', '/v1/instances', {
    name: `bench-${runTag}-${i}`, zone: 'default', kind: 'docker', image: 'busybox', vcpus: 1, memoryMb: 64, app: 'bench',
  });
  const op = await settle(operation.id);
  if (op.state !== 'succeeded') throw new Error(`create ${instance.id} failed: ${op.error}`);
  return { ms: Date.parse(op.finishedAt) - t0, id: instance.id };
}

async function direct(i: number, cpus: number): Promise<{ ms: number; id: string }> {
  const id = crypto.randomUUID();
  const ip = `10.213.1.${10 + i}`;
  const t0 = performance.now();
  await run('docker', ['run', '-d', '--name', `vc-${id}`, '--net=none', '--cpuset-cpus', String(i % cpus), '--memory', '64m',
    '--memory-swap', '64m', '--label', `vcloud.bench=${id}`, manifest.docker.location]);
  const pid = Number((await run('docker', ['inspect', '-f', '{{.State.Pid}}', `vc-${id}`])).trim());
  await plumb({ instanceId: id, hostId: 'bench', pid, bridge: 'vcbr0', ip, prefix: 24, gateway: '10.213.1.1', mac: macFromIp(ip) });
  return { ms: performance.now() - t0, id };
}

async function main() {
  const cpus = (await import('node:os')).cpus().length;
  const runTag = Date.now().toString(36);
  console.log(`create-containers: ${N} instances, ${CONCURRENCY} at a time`);
  // The direct runs get a subnet of their own on the same bridge, so they never take a pool address.
  await run('ip', ['addr', 'replace', '10.213.1.1/24', 'dev', 'vcbr0']);
  const directRuns = await pool(Array.from({ length: N }, (_, i) => i), CONCURRENCY, (i) => direct(i, cpus));
  await pool(directRuns, CONCURRENCY, async (r) => { await run('docker', ['rm', '-f', `vc-${r.id}`]); await unplumb(r.id, 'bench'); });
  await run('ip', ['addr', 'del', '10.213.1.1/24', 'dev', 'vcbr0']);
  const apiStart = performance.now();
  const apiRuns = await pool(Array.from({ length: N }, (_, i) => i), CONCURRENCY, (i) => viaApi(i, runTag));
  const apiWall = performance.now() - apiStart;
  await pool(apiRuns, CONCURRENCY, async (r) => {
    const { operation } = await api('DELETE', `/v1/instances/${r.id}`);
    await settle(operation.id);
  });
  const summary = (runs: { ms: number }[]) => ({
    p50Ms: Math.round(percentile(runs.map((r) => r.ms), 50)), p95Ms: Math.round(percentile(runs.map((r) => r.ms), 95)),
  });
  const result = {
    benchmark: 'create-containers', at: new Date().toISOString(), n: N, concurrency: CONCURRENCY,
    api: { ...summary(apiRuns), wallMs: Math.round(apiWall) }, direct: summary(directRuns),
  };
  const ratio = { p50: +(result.api.p50Ms / result.direct.p50Ms).toFixed(2), p95: +(result.api.p95Ms / result.direct.p95Ms).toFixed(2) };
  const overheadP50Ms = result.api.p50Ms - result.direct.p50Ms;
  const file = writeResult('create-containers', { ...result, ratio, overheadP50Ms });
  console.log(`through the API: p50 ${result.api.p50Ms} ms, p95 ${result.api.p95Ms} ms`);
  console.log(`direct:          p50 ${result.direct.p50Ms} ms, p95 ${result.direct.p95Ms} ms`);
  console.log(`ratio p50 ${ratio.p50}, p95 ${ratio.p95}; orchestration adds ${overheadP50Ms} ms at p50; written to ${file}`);
}

main().catch((err) => { console.error(err); process.exit(1); });
