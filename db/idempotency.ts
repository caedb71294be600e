import type { Db } from './connection';

export interface StoredResponse { status: number; body: unknown }

/**
 * Claims `key` for this user and request. Returns the stored answer when the key was used
 * before with the same request, 'mismatch' when it was used with another request, 'claimed'
 * when this call owns it now (inside the caller's transaction, so a 4xx rolls it back).
 */
export async function claimIdempotencyKey(db: Db, userId: string, key: string, requestHash: string):
  Promise<{ kind: 'claimed' } | { kind: 'replay'; response: StoredResponse } | { kind: 'mismatch' } | { kind: 'in-progress' }> {
  // ON CONFLICT DO NOTHING waits for a concurrent holder of the key to commit, then reads its row,
  // so two racing requests give one instance and the same answer.
  const inserted = await db('idempotency_keys')
    .insert({ user_id: userId, key, request_hash: requestHash })
    .onConflict(['user_id', 'key']).ignore()
    .returning('key');
  if (inserted.length === 1) return { kind: 'claimed' };
  const existing = await db('idempotency_keys').where({ user_id: userId, key }).first();
  if (!existing) return { kind: 'in-progress' };
  if (existing.request_hash !== requestHash) return { kind: 'mismatch' };
  if (existing.status === null) return { kind: 'in-progress' };
  return { kind: 'replay', response: { status: existing.status, body: existing.body } };
}

/** The stored answer of a key whose first request came exactly as `rawHash` says, if it has one yet. */
export async function storedAnswerFor(db: Db, userId: string, key: string, rawHash: string): Promise<StoredResponse | null> {
  const row = await db('idempotency_keys').where({ user_id: userId, key, raw_hash: rawHash }).whereNotNull('status').first('status', 'body');
  return row ? { status: row.status, body: row.body } : null;
}

/** Records how the key's first request came, once its answer is stored (a later request never overwrites it). */
export async function recordRawRequest(db: Db, userId: string, key: string, rawHash: string): Promise<void> {
  await db('idempotency_keys').where({ user_id: userId, key }).whereNull('raw_hash').whereNotNull('status').update({ raw_hash: rawHash });
}

export async function storeIdempotentResponse(db: Db, userId: string, key: string, response: StoredResponse): Promise<void> {
  await db('idempotency_keys').where({ user_id: userId, key })
    .update({ status: response.status, body: JSON.stringify(response.body) });
}
