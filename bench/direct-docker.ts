import crypto from 'node:crypto';
import os from 'node:os';
import { run } from '../host/run';
import { plumb, unplumb } from '../host/bridge-plumbing';
import { macFromIp } from '../lib/net';
import { pool } from './stats';

/**
 * The raw baseline of the container benchmarks: `docker run` on the default engine (local-1) with an
 * instance's limits, then the same veth plumbing, in a subnet of its own on the zone bridge (so it
 * never takes a pool address). Each run is timed alone; `wallMs` is the whole batch.
 */
export async function directContainers(n: number, concurrency: number, image: string): Promise<{ runs: { ms: number }[]; wallMs: number }> {
  const cpus = os.cpus().length;
  await run('ip', ['addr', 'replace', '10.213.1.1/24', 'dev', 'vcbr0']);
  const ids: string[] = [];
  try {
    const start = performance.now();
    const runs = await pool(Array.from({ length: n }, (_, i) => i), concurrency, async (i) => {
      const id = crypto.randomUUID();
      ids.push(id);
      const ip = `10.213.1.${10 + i}`;
      const t0 = performance.now();
      await run('docker', ['run', '-d', '--name', `vc-${id}`, '--net=none', '--cpuset-cpus', String(i % cpus), '--memory', '64m',
        '--memory-swap', '64m', '--label', `vcloud.bench=${id}`, image]);
      const pid = Number((await run('docker', ['inspect', '-f', '{{.State.Pid}}', `vc-${id}`])).trim());
      await plumb({ instanceId: id, hostId: 'bench', pid, bridge: 'vcbr0', ip, prefix: 24, gateway: '10.213.1.1', mac: macFromIp(ip) });
      return { ms: performance.now() - t0 };
    });
    return { runs, wallMs: performance.now() - start };
  } finally {
    await pool(ids, concurrency, async (id) => { await run('docker', ['rm', '-f', `vc-${id}`]).catch(() => ''); await unplumb(id, 'bench'); });
    await run('ip', ['addr', 'del', '10.213.1.1/24', 'dev', 'vcbr0']).catch(() => '');
  }
}
