import type { Db } from './connection';
import { intToIp, ipToInt, parseCidr } from '../lib/net';

export interface Zone { id: string; subnet: string; gateway: string; bridge: string }

export async function listZones(db: Db): Promise<Zone[]> {
  return db('zones').orderBy('id').select('id', 'subnet', 'gateway', 'bridge');
}

export async function getZone(db: Db, id: string): Promise<Zone | undefined> {
  return db('zones').where({ id }).first('id', 'subnet', 'gateway', 'bridge');
}

export async function upsertZone(db: Db, zone: Zone): Promise<void> {
  await db('zones').insert(zone).onConflict('id').merge();
}

/**
 * Adds a pool and its addresses; the gateway and the network/broadcast addresses are never in it.
 * Addresses already in the zone are left as they are, so growing a range is the same call.
 */
export async function addPool(db: Db, zone: Zone, firstIp: string, lastIp: string): Promise<string> {
  const { network, size } = parseCidr(zone.subnet);
  const first = ipToInt(firstIp);
  const last = ipToInt(lastIp);
  if (first <= network || last >= network + size - 1 || first > last) {
    throw new Error(`pool ${firstIp}-${lastIp} is not inside ${zone.subnet}`);
  }
  const [pool] = await db('ip_pools').insert({ zone_id: zone.id, first_ip: firstIp, last_ip: lastIp }).returning('id');
  const gateway = ipToInt(zone.gateway);
  const rows = [];
  for (let n = first; n <= last; n++) {
    if (n === gateway) continue;
    rows.push({ address: intToIp(n), zone_id: zone.id, pool_id: pool.id, sort_key: n });
  }
  for (let i = 0; i < rows.length; i += 1000) {
    await db('ip_addresses').insert(rows.slice(i, i + 1000)).onConflict(['zone_id', 'address']).ignore();
  }
  return pool.id;
}
