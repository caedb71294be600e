import type { Db } from './connection';
import { recordEvent } from './reconcile';
import { HOLDING_STATES } from '../lib/instance-states';

export type FencedBy = 'command' | 'admin' | 'self';

/** What a host's agent needs to know for its watchdog: its zone's failover policy and the other agents' addresses. */
export async function agentPolicy(db: Db, hostId: string): Promise<{ autoFailover: boolean; peers: { hostId: string; address: string }[] }> {
  const host = await db('hosts as h').join('zones as z', 'z.id', 'h.zone_id').where('h.id', hostId).first('h.zone_id', 'z.auto_failover');
  if (!host) return { autoFailover: false, peers: [] };
  const peers = await db('hosts').where({ zone_id: host.zone_id }).whereNot({ id: hostId }).whereNotNull('peer_address')
    .select('id as hostId', 'peer_address as address');
  return { autoFailover: host.auto_failover, peers };
}

export async function setPeerAddress(db: Db, hostId: string, address: string | null): Promise<void> {
  await db('hosts').where({ id: hostId }).update({ peer_address: address });
}

/** The watchdog fenced the host while its agent was cut off; the agent reports it once it is back. */
export async function recordSelfFence(db: Db, hostId: string, at: Date, instances: string[]): Promise<void> {
  const n = await db('hosts').where({ id: hostId })
    .where((q) => q.whereNull('fenced_at').orWhere('fenced_at', '<', at)).update({ fenced_at: at, fenced_by: 'self' });
  if (n) await recordEvent(db, { instanceId: null, hostId, kind: 'self-fenced', detail: `took ${instances.length} instance(s) off the network at ${at.toISOString()}` });
}

export async function markFenced(db: Db, hostId: string, by: FencedBy, detail: string): Promise<void> {
  await db('hosts').where({ id: hostId }).update({ fenced_at: db.fn.now(), fenced_by: by });
  await recordEvent(db, { instanceId: null, hostId, kind: 'fenced', detail: `fenced by ${by}: ${detail}` });
}

export interface HostFacts {
  hostId: string; zoneId: string; state: string; heartbeatAgeSeconds: number | null; lastHeartbeatAt: Date | null;
  zonePeers: number; zonePeersLive: number; autoFailover: boolean; fenceCommand: string[] | null;
  fencedAt: Date | null; fencedBy: FencedBy | null; fencedSinceHeard: boolean;
}

/** What the liveness rule (lib/host-verdict.ts) needs from the database about a host and its zone. */
export async function hostFacts(db: Db, hostId: string, liveSeconds: number): Promise<HostFacts | null> {
  const row = await db('hosts as h').join('zones as z', 'z.id', 'h.zone_id').where('h.id', hostId).first(
    'h.id', 'h.zone_id', 'h.state', 'h.last_heartbeat_at', 'h.fence_command', 'h.fenced_at', 'h.fenced_by', 'z.auto_failover',
    db.raw('extract(epoch from now() - h.last_heartbeat_at)::float8 as age'),
    db.raw('(select count(*)::int from hosts o where o.zone_id = h.zone_id and o.id <> h.id) as peers'),
    db.raw(`(select count(*)::int from hosts o where o.zone_id = h.zone_id and o.id <> h.id
      and o.last_heartbeat_at >= now() - make_interval(secs => ?)) as peers_live`, [liveSeconds]),
  );
  if (!row) return null;
  return {
    hostId: row.id, zoneId: row.zone_id, state: row.state, heartbeatAgeSeconds: row.age === null ? null : Number(row.age),
    lastHeartbeatAt: row.last_heartbeat_at, zonePeers: row.peers, zonePeersLive: row.peers_live, autoFailover: row.auto_failover,
    fenceCommand: row.fence_command, fencedAt: row.fenced_at, fencedBy: row.fenced_by,
    fencedSinceHeard: row.fenced_at !== null && (row.last_heartbeat_at === null || new Date(row.fenced_at) >= new Date(row.last_heartbeat_at)),
  };
}

/**
 * Hosts in zones with automatic failover that have not been heard from for `deadAfterSeconds`,
 * still hold live instances, and are not being evacuated: the candidates the host watch probes.
 */
export async function failoverCandidates(db: Db, deadAfterSeconds: number): Promise<string[]> {
  return db('hosts as h').join('zones as z', 'z.id', 'h.zone_id').where('z.auto_failover', true)
    .whereNot('h.state', 'draining')
    .where((q) => q.whereNull('h.last_heartbeat_at').orWhereRaw('h.last_heartbeat_at < now() - make_interval(secs => ?)', [deadAfterSeconds]))
    .whereExists((q) => q.from('instances as i').whereRaw('i.host_id = h.id').whereIn('i.state', HOLDING_STATES))
    .whereNotExists((q) => q.from('operations as o').whereRaw('o.host_id = h.id').where({ 'o.type': 'evacuate', 'o.state': 'running' }))
    .orderBy('h.id').pluck('h.id');
}
