import type { Db } from './connection';

export interface MonitoredInstance { id: string; name: string; kind: string; zone: string; owner: string; vcpus: number }

/** What a host's monitoring labels its samples with: the live instances placed on it, with their owners' names. */
export async function instancesOnHost(db: Db, hostId: string): Promise<MonitoredInstance[]> {
  return db('instances as i').join('users as u', 'u.id', 'i.owner_id').where('i.host_id', hostId)
    .whereNotIn('i.state', ['deleted', 'failed', 'pending'])
    .select('i.id', 'i.name', 'i.kind', 'i.zone_id as zone', 'u.name as owner', 'i.vcpus');
}

export async function setMetricsAddress(db: Db, hostId: string, address: string | null): Promise<void> {
  await db('hosts').where({ id: hostId }).update({ metrics_address: address });
}

/** Prometheus HTTP service discovery: one target group per host that serves metrics. */
export async function scrapeTargets(db: Db): Promise<{ targets: string[]; labels: Record<string, string> }[]> {
  const hosts = await db('hosts').whereNotNull('metrics_address').orderBy('id').select('id', 'zone_id', 'metrics_address');
  return hosts.map((h) => ({ targets: [h.metrics_address as string], labels: { vcloud_host: h.id, vcloud_zone: h.zone_id } }));
}
