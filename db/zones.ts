import type { Knex } from 'knex';
import type { Db } from './connection';
import { keysetPage, type Page, type PageRequest } from './page';
import { intToIp, ipToInt, parseCidr } from '../lib/net';
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

export interface PoolRow { id: string; zone_id: string; first_ip: string; last_ip: string; state: 'building' | 'ready' }

export async function listPools<T>(db: Db, zoneId: string, page: PageRequest, map: (p: PoolRow) => T): Promise<Page<T>> {
  const q = db('ip_pools').where({ zone_id: zoneId }).select('id', 'zone_id', 'first_ip', 'last_ip', 'state');
  return keysetPage(q, { columns: ['created_at', 'id'] }, page, map);
}

export async function getPool(db: Db, id: string): Promise<PoolRow | undefined> {
  return db('ip_pools').where({ id }).first('id', 'zone_id', 'first_ip', 'last_ip', 'state');
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

/** Addresses written per transaction: a /16 is 8 of them, none holding more than this in memory. */
const ADDRESS_BATCH = 8192;

/**
 * The pool's addresses that are not in the zone yet (the gateway never), made by Postgres from the
 * range (generate_series), each batch its own transaction: the API holds no row of them, a /16
 * costs the same memory as a /30, and no transaction lasts the whole request. Idempotent: a build
 * cut short is finished by running it again.
 */
async function addAddresses(db: Knex, zone: Zone, poolId: string, first: number, last: number, reserved: string[]): Promise<number> {
  let added = 0;
  for (let from = first; from <= last; from += ADDRESS_BATCH) {
    const to = Math.min(last, from + ADDRESS_BATCH - 1);
    const { rows } = await db.raw(`
      insert into ip_addresses (address, zone_id, pool_id, sort_key, state)
      select host('0.0.0.0'::inet + n), ?, ?, n, case when host('0.0.0.0'::inet + n) = any(?::text[]) then 'reserved' else 'free' end
      from generate_series(?::bigint, ?::bigint) as n
      where n <> ?
      on conflict (zone_id, address) do nothing
      returning address`, [zone.id, poolId, reserved, from, to, ipToInt(zone.gateway)]);
    added += rows.length;
  }
  return added;
}

/**
 * Claims [first, last] for a pool (a new one, or `pool` grown) in one short transaction: the zone's
 * row lock queues pool changes of the zone, so a range is checked against every other pool's range
 * (their addresses may not all be written yet) before it is recorded, `building`.
 */
async function claimRange(db: Knex, zone: Zone, first: number, last: number, pool: { id?: string; firstIp: string; lastIp: string; reserved?: string[] }): Promise<string> {
  return db.transaction(async (trx) => {
    await trx('zones').where({ id: zone.id }).forUpdate().first('id');
    const other = await trx('ip_pools').where({ zone_id: zone.id }).modify((q) => { if (pool.id) q.whereNot({ id: pool.id }); })
      .whereRaw('first_ip::inet <= ?::inet and last_ip::inet >= ?::inet', [intToIp(last), intToIp(first)]).first('first_ip', 'last_ip');
    if (other) throw new ConflictError(`the range overlaps pool ${other.first_ip}-${other.last_ip} of zone ${zone.id}`);
    const foreign = await trx('ip_addresses').where({ zone_id: zone.id }).modify((q) => { if (pool.id) q.whereNot({ pool_id: pool.id }); })
      .whereBetween('sort_key', [first, last]).first('address');
    if (foreign) throw new ConflictError(`address ${foreign.address} already belongs to a pool of zone ${zone.id}`);
    const row = { first_ip: pool.firstIp, last_ip: pool.lastIp, state: 'building' };
    if (pool.id) {
      await trx('ip_pools').where({ id: pool.id }).update(row);
      return pool.id;
    }
    const [made] = await trx('ip_pools').insert({ zone_id: zone.id, ...row, reserved: pool.reserved ?? [] }).returning('id');
    return made.id as string;
  });
}

async function build(db: Knex, zone: Zone, poolId: string, first: number, last: number, reserved: string[]): Promise<number> {
  const added = await addAddresses(db, zone, poolId, first, last, reserved);
  await db('ip_pools').where({ id: poolId }).update({ state: 'ready' });
  return added;
}

/**
 * Adds a pool and its addresses; the gateway and the network/broadcast addresses are never in it,
 * `reserved` ones are kept out of allocation. A range overlapping another pool of the zone is refused.
 */
export async function addPool(db: Knex, zone: Zone, firstIp: string, lastIp: string, reserved: string[] = []): Promise<string> {
  const { first, last } = checkRange(zone, firstIp, lastIp);
  const id = await claimRange(db, zone, first, last, { firstIp, lastIp, reserved });
  await build(db, zone, id, first, last, reserved);
  return id;
}

/** Grows a pool to a range that contains the old one (the same range finishes a pool left `building`); existing addresses keep their state. */
export async function growPool(db: Knex, zone: Zone, pool: PoolRow, firstIp: string, lastIp: string): Promise<number> {
  const { first, last } = checkRange(zone, firstIp, lastIp);
  if (first > ipToInt(pool.first_ip) || last < ipToInt(pool.last_ip)) {
    throw new ValidationError('a pool only grows: the new range must contain the old one', [{ path: 'firstIp', message: `must contain ${pool.first_ip}-${pool.last_ip}` }]);
  }
  await claimRange(db, zone, first, last, { id: pool.id, firstIp, lastIp });
  const { reserved } = await db('ip_pools').where({ id: pool.id }).first('reserved');
  return build(db, zone, pool.id, first, last, reserved);
}

/** Pools a crash left `building`, finished (the API does this when it starts), with the addresses their creator reserved. */
export async function finishBuildingPools(db: Knex): Promise<number> {
  const pools = await db('ip_pools as p').join('zones as z', 'z.id', 'p.zone_id').where('p.state', 'building')
    .select('p.id', 'p.first_ip', 'p.last_ip', 'p.reserved', 'z.id as zone_id', 'z.subnet', 'z.gateway', 'z.bridge');
  for (const p of pools) {
    await build(db, { id: p.zone_id, subnet: p.subnet, gateway: p.gateway, bridge: p.bridge }, p.id, ipToInt(p.first_ip), ipToInt(p.last_ip), p.reserved);
  }
  return pools.length;
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
