import type { Db } from './connection';

export interface ImageRow {
  id: string; name: string; kind: 'tgz' | 'docker'; location: string; digest: string | null;
  size_bytes: string | null; boot: Record<string, string> | null; source_image_id: string | null; state: string;
}

export async function listImages(db: Db): Promise<ImageRow[]> {
  return db('images').orderBy('name').select('*');
}

export async function getImage(db: Db, idOrName: string): Promise<ImageRow | undefined> {
  const q = db('images').where({ name: idOrName });
  if (/^[0-9a-f-]{36}$/i.test(idOrName)) q.orWhere({ id: idOrName });
  return q.first();
}

export async function upsertImage(db: Db, image: Omit<ImageRow, 'id' | 'state' | 'source_image_id' | 'size_bytes'> & { size_bytes?: number }): Promise<ImageRow> {
  const [row] = await db('images')
    .insert({ ...image, boot: image.boot ? JSON.stringify(image.boot) : null })
    .onConflict('name').merge(['location', 'digest', 'size_bytes', 'boot', 'kind'])
    .returning('*');
  return row;
}
