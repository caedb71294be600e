import type { Db } from './connection';
import { keysetPage, type PageRequest } from './page';
import { AppError, CapacityError } from '../lib/errors';

export interface Grant {
  maxVcpus: number; maxMemoryMb: number; maxInstances: number;
  /** Left out: the defaults (100 GB of disk, 10 snapshots, 100 GB of snapshots). */
  maxDiskGb?: number; maxSnapshots?: number; maxSnapshotGb?: number;
}
export interface Usage { vcpus: number; memoryMb: number; instances: number; diskGb: number; snapshots: number; snapshotGb: number }

const noUsage = (): Usage => ({ vcpus: 0, memoryMb: 0, instances: 0, diskGb: 0, snapshots: 0, snapshotGb: 0 });

export const GRANT_DEFAULTS = { maxDiskGb: 100, maxSnapshots: 10, maxSnapshotGb: 100 };

export async function putGrant(db: Db, userId: string, zoneId: string, g: Grant): Promise<void> {
  const full = { ...GRANT_DEFAULTS, ...g };
  await db('zone_grants')
    .insert({
      user_id: userId, zone_id: zoneId, max_vcpus: full.maxVcpus, max_memory_mb: full.maxMemoryMb, max_instances: full.maxInstances,
      max_disk_gb: full.maxDiskGb, max_snapshots: full.maxSnapshots, max_snapshot_gb: full.maxSnapshotGb,
    })
    .onConflict(['user_id', 'zone_id']).merge();
}

const limitOf = (r: Record<string, number>) => ({
  vcpus: r.max_vcpus, memoryMb: r.max_memory_mb, instances: r.max_instances, diskGb: r.max_disk_gb, snapshots: r.max_snapshots, snapshotGb: r.max_snapshot_gb,
});

/** The user's grants with their usage, in one query per table (no query per grant). */
export async function listGrants(db: Db, userId: string, page: PageRequest) {
  const usage = await usageByZone(db, userId);
  return keysetPage(db('zone_grants').where({ user_id: userId }).select('*'), { columns: ['zone_id'] }, page, (r: Record<string, number> & { zone_id: string }) => {
    const l = limitOf(r);
    return {
      zone: r.zone_id, maxVcpus: l.vcpus, maxMemoryMb: l.memoryMb, maxInstances: l.instances, maxDiskGb: l.diskGb, maxSnapshots: l.snapshots,
      maxSnapshotGb: l.snapshotGb, usage: usage.get(r.zone_id) ?? noUsage(),
    };
  });
}

const held = (column: string, key: string) => `greatest(${column}, coalesce((resize_to->>'${key}')::int, 0))`;

/**
 * What a user's live instances hold, per zone (a failed or deleted instance holds nothing), and
 * their snapshots that are or are being kept, each counted at its instance's disk size.
 */
async function usageByZone(db: Db, userId: string, zoneId?: string): Promise<Map<string, Usage>> {
  const live = db('instances').where({ owner_id: userId }).whereNotIn('state', ['deleted', 'failed']).groupBy('zone_id')
    // A resize that moves holds its new size from the request on (its row keeps the old one until the move commits).
    .select('zone_id', db.raw('count(*)::int as instances'), db.raw(`coalesce(sum(${held('vcpus', 'vcpus')}), 0)::int as vcpus`),
      db.raw(`coalesce(sum(${held('memory_mb', 'memoryMb')}), 0)::int as "memoryMb"`), db.raw(`coalesce(sum(${held('disk_gb', 'diskGb')}), 0)::int as "diskGb"`));
  const snaps = db('snapshots as s').join('instances as i', 'i.id', 's.instance_id').where('i.owner_id', userId)
    .whereIn('s.state', ['pending', 'ready']).groupBy('i.zone_id')
    .select('i.zone_id', db.raw('count(*)::int as snapshots'), db.raw('coalesce(sum(i.disk_gb), 0)::int as "snapshotGb"'));
  // A user's images count as snapshots where they were made (their snapshot's zone, at its size).
  const images = db('images').where({ owner_id: userId }).whereIn('state', ['pending', 'ready']).whereNotNull('quota_zone_id').groupBy('quota_zone_id')
    .select('quota_zone_id as zone_id', db.raw('count(*)::int as snapshots'), db.raw('coalesce(sum(quota_gb), 0)::int as "snapshotGb"'));
  if (zoneId) { live.where({ zone_id: zoneId }); snaps.where('i.zone_id', zoneId); images.where({ quota_zone_id: zoneId }); }
  const out = new Map<string, Usage>();
  const get = (z: string) => out.get(z) ?? out.set(z, noUsage()).get(z)!;
  for (const r of await live) Object.assign(get(r.zone_id), { instances: r.instances, vcpus: r.vcpus, memoryMb: r.memoryMb, diskGb: r.diskGb });
  for (const r of await snaps) Object.assign(get(r.zone_id), { snapshots: r.snapshots, snapshotGb: r.snapshotGb });
  for (const r of await images) {
    const u = get(r.zone_id);
    u.snapshots += r.snapshots;
    u.snapshotGb += r.snapshotGb;
  }
  return out;
}

export async function usageOf(db: Db, userId: string, zoneId: string): Promise<Usage> {
  return (await usageByZone(db, userId, zoneId)).get(zoneId) ?? noUsage();
}

/**
 * Checks the quota inside the caller's transaction, holding the grant row locked until it
 * commits: concurrent requests by one user in one zone queue here, so each sees the others' rows.
 * `want` is what the request adds: an instance (vcpus, memory, disk) or a snapshot. Admins are not
 * bound by grants.
 */
export async function reserveQuota(trx: Db, user: { id: string; role: string }, zoneId: string,
  want: { instances?: number; vcpus?: number; memoryMb?: number; diskGb?: number; snapshots?: number; snapshotGb?: number }): Promise<void> {
  if (user.role === 'admin') return;
  const grant = await trx('zone_grants').where({ user_id: user.id, zone_id: zoneId }).forUpdate().first();
  if (!grant) throw new AppError(403, 'Forbidden', `you have no grant in zone ${zoneId}`);
  const usage = await usageOf(trx, user.id, zoneId);
  const limit = limitOf(grant);
  const exceeded = (Object.keys(limit) as (keyof Usage)[]).filter((k) => (want[k] ?? 0) > 0 && usage[k] + (want[k] ?? 0) > limit[k]);
  if (exceeded.length) {
    throw new CapacityError(`quota exceeded in zone ${zoneId}: ${exceeded.join(', ')}`, { limit, usage, requested: want, exceeded });
  }
}
