import type { Db } from './connection';
import type { InstanceRow } from './instances';
import { topCandidates } from './placement';
import { rankHosts } from '../placement/rank';
import type { Ratios } from '../placement/types';
import { liveSince } from './host-liveness';

// What bench/fleet.ts reads of the platform's database while a simulated fleet fills it; the
// fleet's hosts are the ones whose id starts with its prefix.
const ofFleet = (prefix: string) => `${prefix.replace(/[\\%_]/g, '\\$&')}%`;

/** How many of the fleet's hosts have been heard from within `liveSeconds`. */
export async function fleetHostsLive(db: Db, prefix: string, liveSeconds: number): Promise<number> {
  const row = await db('hosts').where('id', 'like', ofFleet(prefix)).where(liveSince(liveSeconds)).count<{ n: string }[]>('* as n');
  return Number(row[0]?.n ?? 0);
}

/** Every operation of a type created since `since`, counted by state: how many run, succeeded, failed. */
export async function fleetOperations(db: Db, type: string, since: Date): Promise<Record<string, number>> {
  const rows = await db('operations').where({ type }).where('created_at', '>=', since).groupBy('state').select('state').count<{ state: string; n: string }[]>('* as n');
  return Object.fromEntries(rows.map((r) => [r.state, Number(r.n)]));
}

/** First start and last end of the successful creates since `since`: the sustained rate's window. */
export async function createWindow(db: Db, since: Date): Promise<{ first: Date | null; last: Date | null; n: number }> {
  const row = await db('operations').where({ type: 'create', state: 'succeeded' }).where('created_at', '>=', since)
    .first(db.raw('min(created_at) as first'), db.raw('max(finished_at) as last'), db.raw('count(*)::int as n'));
  return { first: row?.first ?? null, last: row?.last ?? null, n: row?.n ?? 0 };
}

/** The fleet's host holding the most live instances, its zone, and how many. */
export async function fleetLoadedHost(db: Db, prefix: string): Promise<{ hostId: string; zoneId: string; n: number } | null> {
  const row = await db('instances').where('host_id', 'like', ofFleet(prefix)).whereNotIn('state', ['deleted', 'failed'])
    .groupBy('host_id', 'zone_id').orderByRaw('count(*) desc, host_id').first('host_id', 'zone_id', db.raw('count(*)::int as n'));
  return row ? { hostId: row.host_id, zoneId: row.zone_id, n: row.n } : null;
}

/** The live instances on the fleet's hosts. */
export async function fleetInstances(db: Db, prefix: string): Promise<string[]> {
  return db('instances').where('host_id', 'like', ofFleet(prefix)).whereNotIn('state', ['deleted', 'failed']).pluck('id');
}

export async function databaseSize(db: Db): Promise<number> {
  const row = await db.raw('select pg_database_size(current_database())::bigint as n');
  return Number(row.rows[0].n);
}

/**
 * The placement decision's read, as a create's claim makes it (the zone's best candidates, then
 * the filters and weighers), for a 1-vCPU, 64 MiB instance of `app` in `zoneId`; nothing is claimed.
 */
export async function rankForZone(db: Db, zoneId: string, app: string | null, ratios: Ratios, liveSeconds: number): Promise<number> {
  const probe = {
    id: '00000000-0000-0000-0000-000000000000', zone_id: zoneId, kind: 'docker', app, vcpus: 1, memory_mb: 64, disk_gb: 1, requested_host_id: null,
  } as InstanceRow;
  const request = { zoneId, kind: 'docker' as const, vcpus: 1, memoryMb: 64, diskGb: 1, app, pinnedHostId: null };
  return rankHosts(await topCandidates(db, probe, ratios, liveSeconds), request, ratios).hosts.length;
}
