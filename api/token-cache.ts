import type { User } from '../db/users';
import type { RevocationListener } from '../db/token-revocations';

/**
 * The tokens this API process checked, by hash, so that a request costs no query for its token.
 * Kept only while revocations are heard (db/token-revocations.ts: every revocation, however made,
 * is announced when it commits): a revoked token is forgotten when its announcement arrives, and
 * the process that revoked it forgets it before answering. With the listening connection lost
 * nothing is kept or answered from memory until it is back. Unknown tokens are never kept, so a
 * new token works at once; `ttlMs` bounds how long any entry lives.
 */
export class TokenCache implements RevocationListener {
  private readonly entries = new Map<string, { user: User; at: number }>();
  /** Moves on with every revocation heard: a read that began before one may have seen the token still live. */
  private generation = 0;
  private heard = false;

  constructor(private readonly ttlMs = 60_000, private readonly max = 10_000) {}

  async user(hash: string, read: () => Promise<User | undefined>): Promise<User | undefined> {
    if (this.heard) {
      const hit = this.entries.get(hash);
      if (hit && Date.now() - hit.at < this.ttlMs) return hit.user;
      this.entries.delete(hash);
    }
    const began = this.generation;
    const user = await read();
    if (user && this.heard && began === this.generation) {
      this.entries.set(hash, { user, at: Date.now() });
      // The oldest entry goes first (a Map iterates in insertion order).
      if (this.entries.size > this.max) this.entries.delete(this.entries.keys().next().value as string);
    }
    return user;
  }

  revoked(hash: string): void {
    this.generation++;
    this.entries.delete(hash);
  }

  listening(yes: boolean): void {
    // Whatever was revoked while nobody listened is unknown: start again from nothing.
    this.generation++;
    this.entries.clear();
    this.heard = yes;
  }

  get size(): number {
    return this.entries.size;
  }
}
