import type { Db } from './connection';
import { CapacityError, ConflictError, isUniqueViolation } from '../lib/errors';
import { hostnameFor, macFromIp } from '../lib/net';

export interface Allocation { ip: string; mac: string; hostname: string }

/**
 * Gives the instance an address: the one already allocated to it (a retried activity), the
 * admin-named one, or the lowest free one. Runs in the caller's transaction; SKIP LOCKED lets
 * concurrent allocations take different addresses instead of queueing on the same row.
 */
export async function allocateAddress(trx: Db, instance: { id: string; zone_id: string; kind: string; app: string | null; requested_ip: string | null }): Promise<Allocation> {
  let address: string | undefined;
  if (instance.requested_ip) {
    const mine = await trx('ip_addresses').where({ instance_id: instance.id }).first('address');
    address = mine?.address;
    if (!address) {
      const row = await trx('ip_addresses').where({ zone_id: instance.zone_id, address: instance.requested_ip }).forUpdate().first();
      if (!row) throw new ConflictError(`address ${instance.requested_ip} is not in a pool of zone ${instance.zone_id}`);
      if (row.state !== 'free') throw new ConflictError(`address ${instance.requested_ip} is ${row.state}`);
      address = row.address;
      await trx('ip_addresses').where({ zone_id: instance.zone_id, address }).update({ state: 'allocated', instance_id: instance.id });
    }
  } else {
    address = await takeLowestFree(trx, instance.id, instance.zone_id);
    if (!address) throw new CapacityError(`the address pools of zone ${instance.zone_id} are exhausted`);
  }
  const allocation = { ip: address!, mac: macFromIp(address!), hostname: hostnameFor(instance.zone_id, instance.app ?? instance.kind, address!) };
  try {
    await trx('instances').where({ id: instance.id }).update({ ...allocation, updated_at: trx.fn.now() });
  } catch (err) {
    if (isUniqueViolation(err)) throw new ConflictError(`address ${address} is held by another instance`);
    throw err;
  }
  return allocation;
}

/**
 * One statement: the address the instance already holds (a retried activity), else the lowest free
 * one of the zone, taken: one round trip where three were (bench/ipam).
 */
async function takeLowestFree(trx: Db, instanceId: string, zoneId: string): Promise<string | undefined> {
  const { rows } = await trx.raw(`
    with mine as (select address from ip_addresses where instance_id = :instanceId),
    lowest as (
      select zone_id, address from ip_addresses
      where zone_id = :zoneId and state = 'free' and not exists (select 1 from mine)
      order by sort_key limit 1 for update skip locked),
    taken as (
      update ip_addresses a set state = 'allocated', instance_id = :instanceId
      from lowest l where a.zone_id = l.zone_id and a.address = l.address returning a.address)
    select address from mine union all select address from taken`, { instanceId, zoneId });
  return rows[0]?.address;
}

/** Frees whatever address the instance holds; a second call finds nothing to do. */
export async function releaseAddress(trx: Db, instanceId: string): Promise<void> {
  await trx('ip_addresses').where({ instance_id: instanceId }).update({ state: 'free', instance_id: null, silent_checks: 0 });
  await trx('instances').where({ id: instanceId }).update({ ip: null, mac: null, updated_at: trx.fn.now() });
}

/** The API's early answer: an admin-named address must be free in the zone; a pool must have room (for `count` instances). */
export async function checkAddressAvailable(db: Db, zoneId: string, requestedIp: string | null, count = 1): Promise<void> {
  if (requestedIp) {
    const row = await db('ip_addresses').where({ zone_id: zoneId, address: requestedIp }).first('state');
    if (!row) throw new ConflictError(`address ${requestedIp} is not in a pool of zone ${zoneId}`, { errors: [{ path: 'ip', message: 'not in a pool' }] });
    if (row.state !== 'free') throw new ConflictError(`address ${requestedIp} is ${row.state}`, { errors: [{ path: 'ip', message: row.state }] });
    return;
  }
  const free = await db('ip_addresses').where({ zone_id: zoneId, state: 'free' }).limit(count).select('address');
  if (free.length === 0) throw new CapacityError(`the address pools of zone ${zoneId} are exhausted`);
  if (free.length < count) throw new CapacityError(`the address pools of zone ${zoneId} have ${free.length} free addresses, not ${count}`);
}
