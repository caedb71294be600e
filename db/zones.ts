import type { Db } from './connection';
import { keysetPage, type Page, type PageRequest } from './page';
import { ipToInt, parseCidr } from '../lib/net';
import { ConflictError, ValidationError } from '../lib/errors';

export interface Zone { id: string; subnet: string; gateway: string; bridge: string; autoFailover?: boolean }

export async function listZones(db: Db, page: PageRequest): Promise<Page<Zone>> {
  const q = db('zones').select('id', 'subnet', 'gateway', 'bridge', 'auto_failover as autoFailover');
  return keysetPage(q, { columns: ['id'] }, page, (z: Zone) => z);
}

export async function getZone(db: Db, id: string): Promise<Zone | undefined> {
  return db('zones').where({ id }).first('id', 'subnet', 'gateway', 'bridge', 'auto_failover as autoFailover');
}

/** Automatic failover of the zone's dead hosts (with self-fencing agents): off by default. */
export async function setAutoFailover(db: Db, id: string, on: boolean): Promise<void> {
  await db('zones').where({ id }).update({ auto_failover: on });
}

/**
 * A new zone, or the reason it cannot be one (its id, its bridge or its subnet taken: the
 * constraints decide, so concurrent creates cannot both succeed).
 */
export async function insertZone(db: Db, zone: Omit<Zone, 'autoFailover'>): Promise<{ conflict: string | null }> {
  try {
    await db('zones').insert(zone);
    return { conflict: null };
  } catch (err) {
    const { code, constraint } = err as { code?: string; constraint?: string };
    if (code === '23505' && constraint === 'zones_bridge_unique') return { conflict: `bridge ${zone.bridge} is another zone's` };
    if (code === '23505') return { conflict: `zone ${zone.id} exists` };
    if (code === '23P01') {
      const other = await db('zones').whereRaw('subnet::inet && ?::inet', [zone.subnet]).first('id', 'subnet');
      return { conflict: `subnet ${zone.subnet} overlaps zone ${other?.id ?? '?'} (${other?.subnet ?? '?'})` };
    }
    throw err;
  }
}

export async function upsertZone(db: Db, zone: Zone): Promise<void> {
  const { autoFailover: _ignored, ...row } = zone;
  await db('zones').insert(row).onConflict('id').merge();
}

export interface PoolRow { id: string; zone_id: string; first_ip: string; last_ip: string }

export async function listPools<T>(db: Db, zoneId: string, page: PageRequest, map: (p: PoolRow) => T): Promise<Page<T>> {
  const q = db('ip_pools').where({ zone_id: zoneId }).select('id', 'zone_id', 'first_ip', 'last_ip');
  return keysetPage(q, { columns: ['created_at', 'id'] }, page, map);
}

export async function getPool(db: Db, id: string): Promise<PoolRow | undefined> {
  return db('ip_pools').where({ id }).first('id', 'zone_id', 'first_ip', 'last_ip');
}

function checkRange(zone: Zone, firstIp: string, lastIp: string): { first: number; last: number } {
  const { network, size } = parseCidr(zone.subnet);
  const first = ipToInt(firstIp);
  const last = ipToInt(lastIp);
  if (first <= network || last >= network + size - 1 || first > last) {
    throw new ValidationError(`range ${firstIp}-${lastIp} is not inside ${zone.subnet}`, [{ path: 'lastIp', message: `must be inside ${zone.subnet}` }]);
  }
  return { first, last };
}

/** Inserts the addresses of [first, last] that are not in the zone yet; the gateway never. */
/** Addresses written per statement: a /16 is 8 statements, none holding more than this in memory. */
const ADDRESS_BATCH = 8192;

/**
 * The pool's addresses, made by Postgres from the range (generate_series), a batch per statement:
 * the API holds no row of them, so a /16 costs the same memory as a /30 (and about 3 s here).
 */
async function addAddresses(db: Db, zone: Zone, poolId: string, first: number, last: number, reserved: Set<string>): Promise<number> {
  let added = 0;
  for (let from = first; from <= last; from += ADDRESS_BATCH) {
    const to = Math.min(last, from + ADDRESS_BATCH - 1);
    const { rows } = await db.raw(`
      insert into ip_addresses (address, zone_id, pool_id, sort_key, state)
      select host('0.0.0.0'::inet + n), ?, ?, n, case when host('0.0.0.0'::inet + n) = any(?::text[]) then 'reserved' else 'free' end
      from generate_series(?::bigint, ?::bigint) as n
      where n <> ?
      on conflict (zone_id, address) do nothing
      returning address`, [zone.id, poolId, [...reserved], from, to, ipToInt(zone.gateway)]);
    added += rows.length;
  }
  return added;
}

/**
 * Adds a pool and its addresses; the gateway and the network/broadcast addresses are never in it,
 * `reserved` ones are kept out of allocation. A range overlapping another pool of the zone is refused.
 */
export async function addPool(db: Db, zone: Zone, firstIp: string, lastIp: string, reserved: string[] = []): Promise<string> {
  const { first, last } = checkRange(zone, firstIp, lastIp);
  const overlapping = await db('ip_addresses').where({ zone_id: zone.id }).whereBetween('sort_key', [first, last]).first('address');
  if (overlapping) throw new ConflictError(`address ${overlapping.address} already belongs to a pool of zone ${zone.id}`);
  const [pool] = await db('ip_pools').insert({ zone_id: zone.id, first_ip: firstIp, last_ip: lastIp }).returning('id');
  await addAddresses(db, zone, pool.id, first, last, new Set(reserved));
  return pool.id;
}

/** Grows a pool to a wider range that contains the old one; existing addresses keep their state. */
export async function growPool(db: Db, zone: Zone, pool: PoolRow, firstIp: string, lastIp: string): Promise<number> {
  const { first, last } = checkRange(zone, firstIp, lastIp);
  if (first > ipToInt(pool.first_ip) || last < ipToInt(pool.last_ip)) {
    throw new ValidationError('a pool only grows: the new range must contain the old one', [{ path: 'firstIp', message: `must contain ${pool.first_ip}-${pool.last_ip}` }]);
  }
  const foreign = await db('ip_addresses').where({ zone_id: zone.id }).whereNot({ pool_id: pool.id })
    .whereBetween('sort_key', [first, last]).first('address');
  if (foreign) throw new ConflictError(`address ${foreign.address} belongs to another pool of zone ${zone.id}`);
  await db('ip_pools').where({ id: pool.id }).update({ first_ip: firstIp, last_ip: lastIp });
  return addAddresses(db, zone, pool.id, first, last, new Set());
}

/** In address order (the sort key is the address as a number, unique in a zone). */
export async function listAddresses(db: Db, poolId: string, state: string | undefined, page: PageRequest) {
  const q = db('ip_addresses').where({ pool_id: poolId })
    .select('address', 'state', 'instance_id as instanceId', 'silent_checks as silentChecks', 'last_probe_at as lastProbeAt', 'last_probe_answered as lastProbeAnswered');
  if (state) q.where({ state });
  return keysetPage(q, { columns: ['sort_key'] }, page, (a: Record<string, unknown>) => a);
}

export async function setAddressReserved(db: Db, poolId: string, address: string, reserved: boolean): Promise<boolean> {
  const n = await db('ip_addresses').where({ pool_id: poolId, address, state: reserved ? 'free' : 'reserved' })
    .update({ state: reserved ? 'reserved' : 'free' });
  return n === 1;
}
