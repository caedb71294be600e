import crypto from 'node:crypto';
import type { Db } from './connection';
import { keysetPage, type Page, type PageRequest } from './page';

export type Role = 'admin' | 'user';
export interface User { id: string; name: string; role: Role }

export const hashToken = (token: string): string => crypto.createHash('sha256').update(token).digest('hex');

export async function createUser(db: Db, name: string, role: Role): Promise<User> {
  const [row] = await db('users').insert({ name, role }).returning(['id', 'name', 'role']);
  return row;
}

export async function findUserByName(db: Db, name: string): Promise<User | undefined> {
  return db('users').where({ name }).first(['id', 'name', 'role']);
}

/** Returns the token once; only its hash is stored. */
export async function issueToken(db: Db, userId: string): Promise<{ id: string; token: string }> {
  const token = `vc_${crypto.randomBytes(24).toString('base64url')}`;
  const [row] = await db('api_tokens').insert({ user_id: userId, token_hash: hashToken(token) }).returning('id');
  return { id: row.id, token };
}

export async function userForTokenHash(db: Db, hash: string): Promise<User | undefined> {
  return db('api_tokens as t')
    .join('users as u', 'u.id', 't.user_id')
    .where({ 't.token_hash': hash })
    .whereNull('t.revoked_at')
    .first(['u.id', 'u.name', 'u.role']);
}

export async function listUsers(db: Db, page: PageRequest): Promise<Page<User>> {
  return keysetPage(db('users').select('id', 'name', 'role'), { columns: ['name', 'id'] }, page, (u: User) => u);
}

export async function getUser(db: Db, id: string): Promise<User | undefined> {
  return db('users').where({ id }).first('id', 'name', 'role');
}

/** Oldest first, without their values (only hashes are kept). */
export async function listTokens(db: Db, userId: string, page: PageRequest) {
  const q = db('api_tokens').where({ user_id: userId }).select('id', 'created_at as createdAt', 'revoked_at as revokedAt');
  return keysetPage(q, { columns: ['created_at', 'id'] }, page, (t: { id: string; createdAt: Date; revokedAt: Date | null }) => t);
}

/** The revoked token's hash; null when the user has no such live token. */
export async function revokeToken(db: Db, userId: string, tokenId: string): Promise<string | null> {
  const [row] = await db('api_tokens').where({ id: tokenId, user_id: userId }).whereNull('revoked_at')
    .update({ revoked_at: db.fn.now() }).returning('token_hash');
  return row?.token_hash ?? null;
}
