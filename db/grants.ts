import type { Db } from './connection';
import { AppError, CapacityError } from '../lib/errors';

export interface Grant { maxVcpus: number; maxMemoryMb: number; maxInstances: number }
export interface Usage { vcpus: number; memoryMb: number; instances: number }

export async function putGrant(db: Db, userId: string, zoneId: string, g: Grant): Promise<void> {
  await db('zone_grants')
    .insert({ user_id: userId, zone_id: zoneId, max_vcpus: g.maxVcpus, max_memory_mb: g.maxMemoryMb, max_instances: g.maxInstances })
    .onConflict(['user_id', 'zone_id']).merge();
}

export async function listGrants(db: Db, userId: string) {
  const rows = await db('zone_grants').where({ user_id: userId }).orderBy('zone_id');
  return Promise.all(rows.map(async (r) => ({
    zone: r.zone_id, maxVcpus: r.max_vcpus, maxMemoryMb: r.max_memory_mb, maxInstances: r.max_instances,
    usage: await usageOf(db, userId, r.zone_id),
  })));
}

/** What a user's live instances in a zone hold; a failed or deleted instance holds nothing. */
export async function usageOf(db: Db, userId: string, zoneId: string): Promise<Usage> {
  const row = await db('instances').where({ owner_id: userId, zone_id: zoneId }).whereNotIn('state', ['deleted', 'failed'])
    .first(db.raw('count(*)::int as instances'), db.raw('coalesce(sum(vcpus), 0)::int as vcpus'), db.raw('coalesce(sum(memory_mb), 0)::int as "memoryMb"'));
  return { instances: row.instances, vcpus: row.vcpus, memoryMb: row.memoryMb };
}

/**
 * Checks the quota inside the caller's transaction, holding the grant row locked until it
 * commits: concurrent creates by one user in one zone queue here, so each sees the others' rows.
 * Admins are not bound by grants.
 */
export async function reserveQuota(trx: Db, user: { id: string; role: string }, zoneId: string, want: { vcpus: number; memoryMb: number }): Promise<void> {
  if (user.role === 'admin') return;
  const grant = await trx('zone_grants').where({ user_id: user.id, zone_id: zoneId }).forUpdate().first();
  if (!grant) throw new AppError(403, 'Forbidden', `you have no grant in zone ${zoneId}`);
  const usage = await usageOf(trx, user.id, zoneId);
  const limit = { vcpus: grant.max_vcpus, memoryMb: grant.max_memory_mb, instances: grant.max_instances };
  const exceeded = [
    usage.instances + 1 > limit.instances && 'instances',
    usage.vcpus + want.vcpus > limit.vcpus && 'vcpus',
    usage.memoryMb + want.memoryMb > limit.memoryMb && 'memoryMb',
  ].filter((x): x is string => Boolean(x));
  if (exceeded.length) {
    throw new CapacityError(`quota exceeded in zone ${zoneId}: ${exceeded.join(', ')}`, { limit, usage, requested: { instances: 1, ...want }, exceeded });
  }
}
