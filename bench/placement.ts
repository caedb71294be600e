import crypto from 'node:crypto';
import { benchDb } from './bench-db';
import { claimHost, releaseHost } from '../db/placement';
import { percentile, writeResult, intArg } from './stats';

// One placement as the activity runs it (rank in SQL, lock, re-check, claim), in zones of 10,
// 1,000 and 10,000 hosts, with and without an app to spread. Each claim is released again so
// every sample sees the same zone.
const SAMPLES = intArg('samples', 50, 1000);
const ratios = { cpu: 16, memory: 1 };

async function main() {
  const db = await benchDb();
  const owner = (await db('users').insert({ name: 'bench', role: 'admin' }).returning('id'))[0].id;
  const image = (await db('images').insert({ name: 'bench', kind: 'docker', location: 'x/y:1' }).returning('id'))[0].id;
  const results: Record<string, unknown>[] = [];
  try {
    for (const size of [10, 1000, 10000]) {
      const zone = `z${size}`;
      await db('zones').insert({ id: zone, subnet: '10.0.0.0/16', gateway: '10.0.0.1', bridge: 'vcbench' });
      const hosts = Array.from({ length: size }, (_, i) => ({
        id: `${zone}-h${i}`, zone_id: zone, vcpus: 32, memory_mb: 262144, disk_gb: 4000, kinds: ['docker', 'kvm'],
        used_vcpus: (i * 7) % 300, used_memory_mb: ((i * 13) % 200) * 1024, last_heartbeat_at: new Date(),
        numa: JSON.stringify({ nodes: [{ id: 0, cpus: Array.from({ length: 16 }, (_, c) => c), memoryMb: 131072 },
          { id: 1, cpus: Array.from({ length: 16 }, (_, c) => c + 16), memoryMb: 131072 }] }),
      }));
      for (let i = 0; i < hosts.length; i += 1000) await db('hosts').insert(hosts.slice(i, i + 1000));
      // The app already runs on every host: the spread weigher has something to count everywhere.
      const placed = hosts.map((h, i) => ({
        id: crypto.randomUUID(), name: `app-${i}`, owner_id: owner, zone_id: zone, host_id: h.id, kind: 'docker', app: 'web',
        image_id: image, vcpus: 1, memory_mb: 512, disk_gb: 1, cpuset: `{${i % 32}}`, state: 'running',
      }));
      for (let i = 0; i < placed.length; i += 1000) await db('instances').insert(placed.slice(i, i + 1000));
      await db.raw('analyze');
      for (const app of [null, 'web']) {
        const times: number[] = [];
        for (let s = 0; s < SAMPLES; s++) {
          const id = crypto.randomUUID();
          await db('instances').insert({ id, name: `p-${s}-${app}`, owner_id: owner, zone_id: zone, kind: 'docker', app, image_id: image, vcpus: 2, memory_mb: 2048, disk_gb: 10 });
          const t0 = performance.now();
          await claimHost(db, id, ratios, 60);
          times.push(performance.now() - t0);
          await releaseHost(db, id);
          await db('instances').where({ id }).update({ state: 'deleted' });
        }
        const row = { hosts: size, app: app ?? 'none', samples: SAMPLES, p50Ms: +percentile(times, 50).toFixed(1), p95Ms: +percentile(times, 95).toFixed(1) };
        results.push(row);
        console.log(`placement: ${String(size).padStart(5)} hosts, app ${row.app.padEnd(4)}: p50 ${row.p50Ms} ms, p95 ${row.p95Ms} ms`);
      }
    }
    console.log(`written to ${writeResult('placement', { benchmark: 'placement', at: new Date().toISOString(), results })}`);
  } finally {
    await db.destroy();
  }
}
main().catch((err) => { console.error(err); process.exit(1); });
