import crypto from 'node:crypto';
import { benchDb } from './bench-db';
import { addPool, upsertZone } from '../db/zones';
import { allocateAddress } from '../db/ipam';
import { intArg, pool, writeResult } from './stats';

// Allocations per second from one /20 with 50 concurrent allocators, each allocation its own
// transaction as the activity runs it; then a check that no address was handed out twice.
const ALLOCATORS = intArg('allocators', 50, 60);

async function main() {
  const db = await benchDb();
  try {
    const zone = { id: 'ipam', subnet: '10.40.0.0/20', gateway: '10.40.0.1', bridge: 'vcbench' };
    await upsertZone(db, zone);
    await addPool(db, zone, '10.40.0.2', '10.40.15.254');
    const total = Number((await db('ip_addresses').count('* as n').first())!.n);
    const owner = (await db('users').insert({ name: 'bench', role: 'admin' }).returning('id'))[0].id;
    const image = (await db('images').insert({ name: 'bench', kind: 'docker', location: 'x/y:1' }).returning('id'))[0].id;
    const instances = Array.from({ length: total }, (_, i) => ({
      id: crypto.randomUUID(), name: `i-${i}`, owner_id: owner, zone_id: zone.id, kind: 'docker', app: 'bench',
      image_id: image, vcpus: 1, memory_mb: 64, disk_gb: 1, state: 'provisioning',
    }));
    for (let i = 0; i < instances.length; i += 1000) await db('instances').insert(instances.slice(i, i + 1000));
    // The floor, in the same run: as many one-statement transactions with the same concurrency, each
    // updating one row of another table (no choice, no lock wait): what Postgres and the driver take here.
    const floorStart = performance.now();
    await pool(instances, ALLOCATORS, (inst) => db.transaction((trx) => trx('instances').where({ id: inst.id }).update({ updated_at: trx.fn.now() })));
    const floorPerSecond = Math.round(instances.length / ((performance.now() - floorStart) / 1000));
    const t0 = performance.now();
    const ips = await pool(instances, ALLOCATORS, (inst) => db.transaction((trx) => allocateAddress(trx, { ...inst, requested_ip: null })));
    const seconds = (performance.now() - t0) / 1000;
    const distinct = new Set(ips.map((a) => a.ip)).size;
    const duplicates = ips.length - distinct;
    const dbDuplicates = (await db('instances').whereNotNull('ip').groupBy('ip').havingRaw('count(*) > 1').select('ip')).length;
    const result = {
      benchmark: 'ipam', at: new Date().toISOString(), pool: '/20', addresses: total, allocators: ALLOCATORS,
      allocations: ips.length, seconds: +seconds.toFixed(2), perSecond: Math.round(ips.length / seconds), duplicates, dbDuplicates,
      floorPerSecond, ratio: +(floorPerSecond / (ips.length / seconds)).toFixed(2),
    };
    console.log(`ipam: ${ips.length} allocations in ${result.seconds} s = ${result.perSecond}/s with ${ALLOCATORS} allocators; duplicates ${duplicates} (database ${dbDuplicates}); floor (one-statement transactions) ${floorPerSecond}/s, ratio ${result.ratio}`);
    console.log(`written to ${writeResult('ipam', result)}`);
    if (duplicates || dbDuplicates) process.exit(1);
  } finally {
    await db.destroy();
  }
}
main().catch((err) => { console.error(err); process.exit(1); });
