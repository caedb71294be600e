import type { Db } from './connection';

export interface MonitoredInstance { id: string; name: string; kind: string; zone: string; owner: string; vcpus: number }

/** What a host's monitoring labels its samples with: the live instances placed on it, with their owners' names. */
export async function instancesOnHost(db: Db, hostId: string): Promise<MonitoredInstance[]> {
  return db('instances as i').join('users as u', 'u.id', 'i.owner_id').where('i.host_id', hostId)
    .whereNotIn('i.state', ['deleted', 'failed', 'pending'])
    .select('i.id', 'i.name', 'i.kind', 'i.zone_id as zone', 'u.name as owner', 'i.vcpus');
}
