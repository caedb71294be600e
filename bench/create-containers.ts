import { platformClient } from './platform-client';
import { directContainers } from './direct-docker';
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

async function main() {
  const runTag = Date.now().toString(36);
  console.log(`create-containers: ${N} instances, ${CONCURRENCY} at a time`);
  const direct = await directContainers(N, CONCURRENCY, manifest.docker.location);
  const directRuns = direct.runs;
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
    api: { ...summary(apiRuns), wallMs: Math.round(apiWall) }, direct: { ...summary(directRuns), wallMs: Math.round(direct.wallMs) },
  };
  const ratio = {
    p50: +(result.api.p50Ms / result.direct.p50Ms).toFixed(2), p95: +(result.api.p95Ms / result.direct.p95Ms).toFixed(2),
    wall: +(result.api.wallMs / result.direct.wallMs).toFixed(2),
  };
  const overheadP50Ms = result.api.p50Ms - result.direct.p50Ms;
  const file = writeResult('create-containers', { ...result, ratio, overheadP50Ms });
  console.log(`through the API: p50 ${result.api.p50Ms} ms, p95 ${result.api.p95Ms} ms, all ${N} in ${result.api.wallMs} ms`);
  console.log(`direct:          p50 ${result.direct.p50Ms} ms, p95 ${result.direct.p95Ms} ms, all ${N} in ${result.direct.wallMs} ms (wall ratio ${ratio.wall})`);
  console.log(`ratio p50 ${ratio.p50}, p95 ${ratio.p95}; orchestration adds ${overheadP50Ms} ms at p50; written to ${file}`);
}

main().catch((err) => { console.error(err); process.exit(1); });
