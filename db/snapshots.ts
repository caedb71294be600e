import type { Db } from './connection';
import { keysetPage, type Page, type PageRequest } from './page';

export interface SnapshotRow {
  id: string; instance_id: string; kind: 'docker' | 'kvm'; location: string | null; digest: string | null;
  state: 'pending' | 'ready' | 'failed' | 'deleted'; failure: string | null; created_at: Date;
}

export async function insertSnapshot(db: Db, s: { id: string; instanceId: string; kind: string }): Promise<SnapshotRow> {
  const [row] = await db('snapshots').insert({ id: s.id, instance_id: s.instanceId, kind: s.kind }).onConflict('id').ignore().returning('*');
  return row ?? db('snapshots').where({ id: s.id }).first();
}

export async function getSnapshot(db: Db, id: string): Promise<SnapshotRow | undefined> {
  return db('snapshots').where({ id }).first();
}

export async function listSnapshots(db: Db, instanceId: string): Promise<SnapshotRow[]> {
  return db('snapshots').where({ instance_id: instanceId }).whereNot({ state: 'deleted' }).orderBy('created_at', 'desc');
}

/** Newest first, deleted ones left out. */
export async function pageSnapshots<T>(db: Db, instanceId: string, page: PageRequest, map: (s: SnapshotRow) => T): Promise<Page<T>> {
  const q = db('snapshots').where({ instance_id: instanceId }).whereNot({ state: 'deleted' }).select('*');
  return keysetPage(q, { columns: ['created_at', 'id'], desc: true }, page, map);
}

export async function latestReadySnapshot(db: Db, instanceId: string): Promise<SnapshotRow | undefined> {
  return db('snapshots').where({ instance_id: instanceId, state: 'ready' }).orderBy('created_at', 'desc').first();
}

export async function markSnapshot(db: Db, id: string, update: { state: 'ready' | 'failed' | 'deleted'; location?: string; digest?: string; failure?: string }): Promise<void> {
  await db('snapshots').where({ id }).update(update);
}

/**
 * A ready snapshot marked deleted, under the instance's lock and only while no operation runs on the
 * instance (a migrate may be restoring from it): the operation that runs, if one does.
 */
export async function retireSnapshot(trx: Db, instanceId: string, snapshotId: string): Promise<{ busyWith: string | null; retired: boolean }> {
  await trx('instances').where({ id: instanceId }).forUpdate().first('id');
  const running = await trx('operations').where({ instance_id: instanceId, state: 'running' }).first('type', 'id');
  if (running) return { busyWith: `${running.type} ${running.id}`, retired: false };
  const n = await trx('snapshots').where({ id: snapshotId, instance_id: instanceId, state: 'ready' }).update({ state: 'deleted' });
  return { busyWith: null, retired: n === 1 };
}

export const snapshotView = (s: SnapshotRow) => ({
  id: s.id, instanceId: s.instance_id, kind: s.kind, state: s.state, location: s.location, digest: s.digest,
  failure: s.failure ?? undefined, createdAt: s.created_at,
});

export async function recordStaleCopy(db: Db, instanceId: string, hostId: string, kind: string): Promise<void> {
  await db('stale_copies').insert({ instance_id: instanceId, host_id: hostId, kind }).onConflict(['instance_id', 'host_id']).ignore();
}

export async function clearStaleCopy(db: Db, instanceId: string, hostId: string): Promise<void> {
  await db('stale_copies').where({ instance_id: instanceId, host_id: hostId }).delete();
}

export async function staleCopiesOn(db: Db, hostId: string): Promise<{ instance_id: string; kind: 'docker' | 'kvm' }[]> {
  return db('stale_copies').where({ host_id: hostId }).select('instance_id', 'kind');
}
