import type { Db } from './connection';
import { keysetPage, type PageRequest } from './page';
import { HOLDING_STATES } from '../lib/instance-states';

export interface InstanceEvent { instanceId: string | null; hostId: string | null; kind: string; detail: string }

/** What the reconciler (or a repair) found and did, for operators and owners to read. */
export async function recordEvent(db: Db, e: InstanceEvent): Promise<void> {
  await db('instance_events').insert({ instance_id: e.instanceId, host_id: e.hostId, kind: e.kind, detail: e.detail });
}

/** Newest first. */
export async function listEvents(db: Db, filter: { instanceId?: string; hostId?: string }, page: PageRequest) {
  const q = db('instance_events as e').select('e.id', 'e.instance_id as instanceId', 'e.host_id as hostId', 'e.kind', 'e.detail', 'e.created_at as at');
  if (filter.instanceId) q.where('e.instance_id', filter.instanceId);
  if (filter.hostId) q.where('e.host_id', filter.hostId);
  return keysetPage(q, { columns: ['e.created_at', 'e.id'], desc: true }, page, (e: Record<string, unknown>) => e);
}

/**
 * Instances that should have a copy on the host: placed there, or claiming it as a migration target.
 * `busy`: an operation runs on it, or (with `busySince`) one ended after that moment, so an inventory
 * read before then may show the operation's own work in progress (a VM frozen by a snapshot) and
 * must not be judged as drift.
 */
export async function instancesExpectedOn(db: Db, hostId: string, busySince?: Date) {
  const busy = busySince
    ? db.raw(`exists (select 1 from operations o where o.instance_id = instances.id and (o.state = 'running' or o.finished_at > ?)) as busy`, [busySince])
    : db.raw(`exists (select 1 from operations o where o.instance_id = instances.id and o.state = 'running') as busy`);
  return db('instances').where((q) => q.where({ host_id: hostId }).orWhere({ target_host_id: hostId }))
    .whereIn('state', HOLDING_STATES)
    .select('id', 'kind', 'state', 'host_id', 'target_host_id', 'updated_at', busy);
}

export interface Sighting { instanceId: string; kind: 'orphan' | 'missing' }

/**
 * Records this round's sightings on a host and forgets the ones not seen again; returns, for each
 * sighting of this round, how many rounds in a row and for how long it has been seen.
 */
export async function recordSightings(db: Db, hostId: string, seen: Sighting[]): Promise<Map<string, { rounds: number; seconds: number }>> {
  const key = (s: { instanceId: string; kind: string }) => `${s.kind}:${s.instanceId}`;
  const keep = new Set(seen.map(key));
  const existing = await db('reconcile_sightings').where({ host_id: hostId }).select('instance_id', 'kind');
  const gone = existing.filter((r) => !keep.has(key({ instanceId: r.instance_id, kind: r.kind })));
  for (const r of gone) await db('reconcile_sightings').where({ host_id: hostId, instance_id: r.instance_id, kind: r.kind }).delete();
  const out = new Map<string, { rounds: number; seconds: number }>();
  for (const s of seen) {
    const [row] = await db('reconcile_sightings')
      .insert({ host_id: hostId, instance_id: s.instanceId, kind: s.kind })
      .onConflict(['host_id', 'instance_id', 'kind']).merge({ rounds: db.raw('reconcile_sightings.rounds + 1') })
      .returning([db.raw('rounds'), db.raw('extract(epoch from now() - first_seen_at)::float8 as seconds')]);
    out.set(key(s), { rounds: row.rounds, seconds: Number(row.seconds) });
  }
  return out;
}

export async function forgetSighting(db: Db, hostId: string, instanceId: string): Promise<void> {
  await db('reconcile_sightings').where({ host_id: hostId, instance_id: instanceId }).delete();
}

/**
 * Copies recorded for destruction on a host whose instance does not live there (a copy of an
 * instance that has since come back to this host is not stale any more: its row is dropped).
 */
export async function staleCopiesToDestroy(db: Db, hostId: string): Promise<{ instance_id: string; kind: 'docker' | 'kvm' }[]> {
  const expected = new Set((await instancesExpectedOn(db, hostId)).map((i) => i.id as string));
  const rows: { instance_id: string; kind: 'docker' | 'kvm' }[] = await db('stale_copies').where({ host_id: hostId }).select('instance_id', 'kind');
  const superseded = rows.filter((r) => expected.has(r.instance_id)).map((r) => r.instance_id);
  if (superseded.length) await db('stale_copies').where({ host_id: hostId }).whereIn('instance_id', superseded).delete();
  return rows.filter((r) => !expected.has(r.instance_id));
}
