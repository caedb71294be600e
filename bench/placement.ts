import crypto from 'node:crypto';
import { benchDb } from './bench-db';
import { claimHost, ensureRankIndex, releaseHost } from '../db/placement';
import { percentile, writeResult, intArg } from './stats';

// One placement as the activity runs it (rank in SQL, then lock, re-check and claim), in zones of 10,
// 1,000 and 10,000 hosts, with and without an app to spread. Each claim is released again so
// every sample sees the same zone. The floor, measured in the same run: one transaction that
// locks and updates one host row.
const SAMPLES = intArg('samples', 50, 1000);
const ratios = { cpu: 16, memory: 1 };

async function main() {
  const db = await benchDb();
  const owner = (await db('users').insert({ name: 'bench', role: 'admin' }).returning('id'))[0].id;
  const image = (await db('images').insert({ name: 'bench', kind: 'docker', location: 'x/y:1' }).returning('id'))[0].id;
  const results: Record<string, unknown>[] = [];
  try {
    for (const [idx, size] of [10, 1000, 10000].entries()) {
      const zone = `z${size}`;
      await db('zones').insert({ id: zone, subnet: `10.${60 + idx}.0.0/16`, gateway: `10.${60 + idx}.0.1`, bridge: `vcb${size}` });
      const hosts = Array.from({ length: size }, (_, i) => ({
        id: `${zone}-h${i}`, zone_id: zone, vcpus: 32, memory_mb: 262144, disk_gb: 4000, kinds: ['docker', 'kvm'],
        used_vcpus: (i * 7) % 300, used_memory_mb: ((i * 13) % 200) * 1024, last_heartbeat_at: new Date(),
        numa: JSON.stringify({ nodes: [{ id: 0, cpus: Array.from({ length: 16 }, (_, c) => c), memoryMb: 131072 },
          { id: 1, cpus: Array.from({ length: 16 }, (_, c) => c + 16), memoryMb: 131072 }] }),
      }));
      for (let i = 0; i < hosts.length; i += 1000) await db('hosts').insert(hosts.slice(i, i + 1000));
      // 'web' runs on every host (the spread weigher counts it everywhere: the worst case); 'shop' on
      // 100 hosts at most (an app of ordinary size).
      const on = (app: string, n: number) => hosts.slice(0, n).map((h, i) => ({
        id: crypto.randomUUID(), name: `${app}-${i}`, owner_id: owner, zone_id: zone, host_id: h.id, kind: 'docker', app,
        image_id: image, vcpus: 1, memory_mb: 512, disk_gb: 1, cpuset: `{${i % 32}}`, state: 'running',
      }));
      const placed = [...on('web', size), ...on('shop', Math.min(100, size))];
      for (let i = 0; i < placed.length; i += 1000) await db('instances').insert(placed.slice(i, i + 1000));
      await ensureRankIndex(db, ratios);
      await db.raw('analyze');
      // The floor of a claim: one transaction that locks and updates one host row, as fast as Postgres takes it here.
      const floor: number[] = [];
      for (let s = 0; s < SAMPLES; s++) {
        const t0 = performance.now();
        await db.transaction((trx) => trx('hosts').where({ id: hosts[s % size].id }).update({ used_vcpus: trx.raw('used_vcpus') }));
        floor.push(performance.now() - t0);
      }
      const floorP50 = percentile(floor, 50);
      for (const app of [null, 'shop', 'web']) {
        const times: number[] = [];
        for (let s = 0; s < SAMPLES; s++) {
          const id = crypto.randomUUID();
          // The row as the create's begin hands it to the claim (create-activities.ts provisionCreate).
          const [row] = await db('instances').insert({ id, name: `p-${s}-${app}`, owner_id: owner, zone_id: zone, kind: 'docker', app, image_id: image, vcpus: 2, memory_mb: 2048, disk_gb: 10 }).returning('*');
          const t0 = performance.now();
          await claimHost(db, row, ratios, 60);
          times.push(performance.now() - t0);
          await releaseHost(db, id);
          await db('instances').where({ id }).del();
        }
        const row = {
          hosts: size, app: app ?? 'none', samples: SAMPLES, p50Ms: +percentile(times, 50).toFixed(1), p95Ms: +percentile(times, 95).toFixed(1),
          p99Ms: +percentile(times, 99).toFixed(1), floorP50Ms: +floorP50.toFixed(2), ratioP50: +(percentile(times, 50) / floorP50).toFixed(1),
        };
        results.push(row);
        console.log(`placement: ${String(size).padStart(5)} hosts, app ${row.app.padEnd(4)}: p50 ${row.p50Ms} ms, p95 ${row.p95Ms} ms, p99 ${row.p99Ms} ms; floor (one locked update) ${row.floorP50Ms} ms, ratio ${row.ratioP50}`);
      }
    }
    console.log(`written to ${writeResult('placement', { benchmark: 'placement', at: new Date().toISOString(), results })}`);
  } finally {
    await db.destroy();
  }
}
main().catch((err) => { console.error(err); process.exit(1); });
