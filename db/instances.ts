import type { Db } from './connection';
import { keysetPage, type Page, type PageRequest } from './page';
import { ConflictError, StateConflictError, isUniqueViolation } from '../lib/errors';
import { canTransition, statesInto, type InstanceState, type RepairTarget } from '../lib/instance-states';

export type { InstanceState } from '../lib/instance-states';
export interface InstanceRow {
  id: string; name: string; owner_id: string; zone_id: string; host_id: string | null; kind: 'docker' | 'kvm';
  app: string | null; image_id: string; vcpus: number; memory_mb: number; disk_gb: number; cpuset: number[] | null;
  ip: string | null; mac: string | null; hostname: string | null; requested_host_id: string | null;
  requested_ip: string | null; state: InstanceState; failure: string | null; generation: number;
  repair_to: RepairTarget | null; target_host_id: string | null; target_cpuset: number[] | null;
  /** What the platform installed as root's authorized_keys at create (null: none asked for). */
  authorized_keys?: string | null;
  /** A VM's domain maxima: vCPUs and memory change live up to these. */
  max_vcpus?: number | null; max_memory_mb?: number | null;
  created_at: Date; updated_at: Date;
}

export async function insertInstance(db: Db, row: Pick<InstanceRow, 'id' | 'name' | 'owner_id' | 'zone_id' | 'kind' | 'app' |
  'image_id' | 'vcpus' | 'memory_mb' | 'disk_gb' | 'requested_host_id' | 'requested_ip' | 'authorized_keys' | 'max_vcpus' | 'max_memory_mb'>): Promise<InstanceRow> {
  try {
    const [inserted] = await db('instances').insert(row).returning('*');
    return inserted;
  } catch (err) {
    if (isUniqueViolation(err, 'instances_live_name_unique')) {
      throw new ConflictError(`an instance named ${row.name} already exists in zone ${row.zone_id}`);
    }
    throw err;
  }
}

/** An instance with what a host needs of its image and zone, in one query. */
export async function instanceWithImageAndZone(db: Db, id: string) {
  return db('instances as i').join('images as m', 'm.id', 'i.image_id').join('zones as z', 'z.id', 'i.zone_id')
    .where('i.id', id)
    .first('i.*', 'm.kind as image_kind', 'm.location as image_location', 'm.digest as image_digest', 'm.boot as image_boot',
      'z.bridge', 'z.subnet', 'z.gateway') as Promise<(InstanceRow & {
      image_kind: 'tgz' | 'docker'; image_location: string; image_digest: string | null; image_boot: Record<string, string> | null;
      bridge: string; subnet: string; gateway: string;
    }) | undefined>;
}

export async function getInstance(db: Db, id: string): Promise<InstanceRow | undefined> {
  return db('instances').where({ id }).first();
}

/** Row lock: every mutating operation takes it before it inserts its operation row. */
export async function lockInstance(db: Db, id: string): Promise<InstanceRow | undefined> {
  return db('instances').where({ id }).forUpdate().first();
}

/** Newest first; with `includeDeleted`, deleted ones too. */
export async function listInstances<T>(db: Db, filter: { ownerId?: string; includeDeleted?: boolean }, page: PageRequest, map: (r: InstanceRow) => T): Promise<Page<T>> {
  const q = db('instances').select('*');
  if (filter.ownerId) q.where({ owner_id: filter.ownerId });
  if (!filter.includeDeleted) q.whereNot({ state: 'deleted' });
  return keysetPage(q, { columns: ['created_at', 'id'], desc: true }, page, map);
}

export interface Transition {
  /** The states this step expects the instance in; any state allowed into `to` when omitted. */
  from?: readonly InstanceState[];
  failure?: string | null;
  /** Where a repair ends (only with `to: 'repairing'`). */
  repairTo?: RepairTarget;
}

/**
 * Compare-and-set: moves the instance to `to` only from an expected state that the transition table
 * allows, so a replayed, retried or reset step can never move it backwards or revive a deleted one.
 * Finding it already in `to` is success (a retried step); any other state is a StateConflictError.
 */
export async function transitionInstance(db: Db, id: string, to: InstanceState, t: Transition = {}): Promise<'moved' | 'already'> {
  const from = (t.from ?? statesInto(to)).filter((s) => canTransition(s, to));
  const n = await db('instances').where({ id }).whereIn('state', from).update({
    state: to, failure: t.failure ?? null, repair_to: to === 'repairing' ? (t.repairTo ?? 'failed') : null, updated_at: db.fn.now(),
  });
  if (n === 1) return 'moved';
  const now = await db('instances').where({ id }).first('state');
  if (!now) throw new StateConflictError(`instance ${id} does not exist`);
  if (now.state === to) return 'already';
  throw new StateConflictError(`instance ${id} is ${now.state}: it cannot become ${to}`);
}

/**
 * CPUs taken on the host `h.id` (a reference the enclosing query binds), one element per pinning:
 * its instances' cpusets and those of moves claiming it as target, but the instance's own (the two
 * bindings). Shared by the claim under the host's lock and the ranking read (db/placement.ts).
 */
export const CPU_USAGE_OF_H = `select unnest(cpuset) from instances where host_id = h.id and id <> ? and cpuset is not null
  union all select unnest(target_cpuset) from instances where target_host_id = h.id and id <> ? and target_cpuset is not null`;

export function countCpus(cpus: number[]): Map<number, number> {
  const usage = new Map<number, number>();
  for (const cpu of cpus) usage.set(cpu, (usage.get(cpu) ?? 0) + 1);
  return usage;
}

export async function cpuUsageOnHost(db: Db, hostId: string, exceptInstanceId: string): Promise<Map<number, number>> {
  const { rows } = await db.raw(`select array(${CPU_USAGE_OF_H}) as cpus from hosts h where h.id = ?`, [exceptInstanceId, exceptInstanceId, hostId]);
  return countCpus(rows[0]?.cpus ?? []);
}

/** A batch's members it never started (no operation of their own): failed, holding nothing any more. */
export async function failUnstartedMembers(db: Db, instanceIds: string[], failure: string): Promise<number> {
  return db('instances').whereIn('id', instanceIds).where({ state: 'pending' })
    .whereNotExists((q) => q.from('operations as o').whereRaw('o.instance_id = instances.id'))
    .update({ state: 'failed', failure, updated_at: db.fn.now() });
}
