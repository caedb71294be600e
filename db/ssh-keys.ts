import type { Db } from './connection';
import { keysetPage, type Page, type PageRequest } from './page';
import { ConflictError, isUniqueViolation } from '../lib/errors';

export interface SshKeyRow { id: string; user_id: string; name: string; type: string; public_key: string; fingerprint: string; created_at: Date }

export const sshKeyView = (k: SshKeyRow) => ({ id: k.id, name: k.name, type: k.type, publicKey: k.public_key, fingerprint: k.fingerprint, createdAt: k.created_at });

export async function insertSshKey(db: Db, k: Omit<SshKeyRow, 'id' | 'created_at'>): Promise<SshKeyRow> {
  try {
    const [row] = await db('ssh_keys').insert(k).returning('*');
    return row;
  } catch (err) {
    if (isUniqueViolation(err, 'ssh_keys_user_name_unique')) throw new ConflictError(`you have a key named ${k.name}`);
    if (isUniqueViolation(err, 'ssh_keys_user_fingerprint_unique')) throw new ConflictError(`this key is registered already (${k.fingerprint})`);
    throw err;
  }
}

export async function listSshKeys<T>(db: Db, userId: string, page: PageRequest, view: (k: SshKeyRow) => T): Promise<Page<T>> {
  return keysetPage(db('ssh_keys').where({ user_id: userId }).select('*'), { columns: ['name', 'id'] }, page, view);
}

export async function deleteSshKey(db: Db, userId: string, keyId: string): Promise<boolean> {
  return (await db('ssh_keys').where({ user_id: userId, id: keyId }).delete()) === 1;
}

/** The user's keys named (by name or id) in a create; the names not found, for its 400. */
export async function sshKeysNamed(db: Db, userId: string, names: string[]): Promise<{ found: SshKeyRow[]; missing: string[] }> {
  const uuids = names.filter((n) => /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/.test(n));
  const rows: SshKeyRow[] = await db('ssh_keys').where({ user_id: userId })
    .where((q) => { q.whereIn('name', names); if (uuids.length) q.orWhereIn('id', uuids); }).orderBy('name');
  const missing = names.filter((n) => !rows.some((r) => r.name === n || r.id === n));
  return { found: rows, missing };
}
