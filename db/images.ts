import type { Db } from './connection';
import { keysetPage, type Page, type PageRequest } from './page';
import { ConflictError, isUniqueViolation } from '../lib/errors';

export interface ImageRow {
  id: string; name: string; kind: 'tgz' | 'docker'; location: string; digest: string | null;
  size_bytes: string | null; boot: Record<string, string> | null; source_image_id: string | null; state: string;
  failure?: string | null; owner_id?: string | null; visibility?: 'private' | 'public'; source_snapshot_id?: string | null;
  quota_zone_id?: string | null; quota_gb?: number | null;
}

/** Who may see and use an image: everyone a public one; its owner and admins a private one. */
export const imageVisibleTo = (i: Pick<ImageRow, 'visibility' | 'owner_id'>, user: { id: string; role: string }): boolean =>
  user.role === 'admin' || i.visibility !== 'private' || i.owner_id === user.id;

/** By name: for a user, the public images and their own; for an admin, all; `mine`, the user's own only. */
export async function listImages<T>(db: Db, viewer: { id: string; role: string }, filter: { mine?: boolean }, page: PageRequest, map: (r: ImageRow) => T): Promise<Page<T>> {
  const q = db('images').whereNot({ state: 'deleted' }).select('*');
  if (filter.mine) q.where({ owner_id: viewer.id });
  else if (viewer.role !== 'admin') q.where((w) => w.whereNot({ visibility: 'private' }).orWhere({ owner_id: viewer.id }));
  return keysetPage(q, { columns: ['name', 'id'] }, page, map);
}

/** By id, or by name among the images that are not deleted. */
export async function getImage(db: Db, idOrName: string): Promise<ImageRow | undefined> {
  if (/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(idOrName)) {
    return db('images').where({ id: idOrName }).first();
  }
  return db('images').where({ name: idOrName }).whereNot({ state: 'deleted' }).first();
}

export interface NewImage {
  name: string; kind: 'tgz' | 'docker'; location: string; digest: string | null; size_bytes?: number | null;
  boot: Record<string, string> | null; source_image_id?: string | null; state?: string;
  owner_id?: string | null; visibility?: 'private' | 'public'; source_snapshot_id?: string | null; quota_zone_id?: string | null; quota_gb?: number | null;
}

export async function insertImage(db: Db, image: NewImage): Promise<ImageRow> {
  try {
    const [row] = await db('images').insert({ ...image, boot: image.boot ? JSON.stringify(image.boot) : null }).returning('*');
    return row;
  } catch (err) {
    if (isUniqueViolation(err)) throw new ConflictError(`an image named ${image.name} exists`);
    throw err;
  }
}

/** Seeding: the same name again refreshes the row. */
export async function upsertImage(db: Db, image: NewImage): Promise<ImageRow> {
  const existing = await db('images').where({ name: image.name }).whereNot({ state: 'deleted' }).first();
  if (!existing) return insertImage(db, image);
  const [row] = await db('images').where({ id: existing.id })
    .update({ location: image.location, digest: image.digest, size_bytes: image.size_bytes ?? null, kind: image.kind, boot: image.boot ? JSON.stringify(image.boot) : null })
    .returning('*');
  return row;
}

export async function markImageReady(db: Db, id: string, done: { location: string; digest: string; sizeBytes: number | null; boot: Record<string, string> | null }): Promise<void> {
  await db('images').where({ id, state: 'pending' }).update({
    state: 'ready', location: done.location, digest: done.digest, size_bytes: done.sizeBytes, boot: done.boot ? JSON.stringify(done.boot) : null,
  });
}

export async function markImageFailed(db: Db, id: string, failure: string): Promise<void> {
  await db('images').where({ id, state: 'pending' }).update({ state: 'failed', failure });
}

/** Why an image may not be deleted now, if it may not. */
export async function imageInUse(db: Db, id: string): Promise<string | null> {
  const instances = await db('instances').where({ image_id: id }).whereNotIn('state', ['deleted', 'failed']).count('* as n').first();
  if (Number(instances!.n) > 0) return `${instances!.n} instance(s) use it`;
  const converting = await db('images').where({ source_image_id: id, state: 'pending' }).count('* as n').first();
  if (Number(converting!.n) > 0) return 'a conversion from it is running';
  const target = await db('operations').where({ image_id: id, state: 'running' }).first('id');
  if (target) return 'a conversion to it is running';
  return null;
}

export async function markImageDeleted(db: Db, id: string): Promise<void> {
  await db('images').where({ id }).update({ state: 'deleted' });
}

/** Another live image keeps the same data (a registry manifest shared by two names, say). */
export async function locationShared(db: Db, image: ImageRow): Promise<boolean> {
  const other = await db('images').whereNot({ id: image.id }).whereNot({ state: 'deleted' })
    .where((q) => q.where({ location: image.location }).orWhere((q2) => q2.where({ digest: image.digest }).whereNotNull('digest')))
    .first('id');
  return Boolean(other);
}

interface BuiltEntry { name: string; location: string; digest: string | null; sizeBytes?: number; boot?: Record<string, string> }
/** What scripts/build-images.sh writes to .data/images/manifest.json (the Debian entries since the Debian template). */
export interface BuiltManifest { tgz: BuiltEntry; vm: BuiltEntry; docker: BuiltEntry; debianVm?: BuiltEntry; debian?: BuiltEntry }

/** The built templates registered as images: what `up` seeds and the tests start with. */
export async function seedBuiltImages(db: Db, m: BuiltManifest): Promise<void> {
  const tgz = (e: BuiltEntry) => upsertImage(db, { name: e.name, kind: 'tgz', location: e.location, digest: e.digest, size_bytes: e.sizeBytes ?? null, boot: e.boot ?? null });
  const docker = (e: BuiltEntry) => upsertImage(db, { name: e.name, kind: 'docker', location: e.location, digest: e.digest, boot: null });
  await tgz(m.tgz);
  await tgz(m.vm);
  await docker(m.docker);
  if (m.debianVm) await tgz(m.debianVm);
  if (m.debian) await docker(m.debian);
}
