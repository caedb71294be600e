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
  const mine = await trx('ip_addresses').where({ instance_id: instance.id }).first('address');
  let address: string | undefined = mine?.address;
  if (!address) {
    if (instance.requested_ip) {
      const row = await trx('ip_addresses').where({ zone_id: instance.zone_id, address: instance.requested_ip }).forUpdate().first();
      if (!row) throw new ConflictError(`address ${instance.requested_ip} is not in a pool of zone ${instance.zone_id}`);
      if (row.state !== 'free') throw new ConflictError(`address ${instance.requested_ip} is ${row.state}`);
      address = row.address;
    } else {
      const row = await trx('ip_addresses').where({ zone_id: instance.zone_id, state: 'free' })
        .orderBy('sort_key').limit(1).forUpdate().skipLocked().first('address');
      if (!row) throw new CapacityError(`the address pools of zone ${instance.zone_id} are exhausted`);
      address = row.address;
    }
    await trx('ip_addresses').where({ zone_id: instance.zone_id, address }).update({ state: 'allocated', instance_id: instance.id });
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
