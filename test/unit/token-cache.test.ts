import { TokenCache } from '../../api/token-cache';
import type { User } from '../../db/users';

const alice: User = { id: 'u1', name: 'alice', role: 'user' };

describe('the API process\'s token cache', () => {
  test('keeps a checked token only while revocations are heard, and forgets a revoked one', async () => {
    const cache = new TokenCache(60_000);
    let reads = 0;
    const read = async () => { reads++; return alice; };
    // Not listening yet: every request reads.
    await cache.user('h1', read);
    await cache.user('h1', read);
    expect(reads).toBe(2);
    cache.listening(true);
    expect(await cache.user('h1', read)).toEqual(alice);
    expect(await cache.user('h1', read)).toEqual(alice);
    expect(reads).toBe(3);
    cache.revoked('h1');
    await cache.user('h1', async () => { reads++; return undefined; });
    expect(reads).toBe(4);
    // Unknown tokens are not kept: a token issued since works at once.
    expect(await cache.user('h1', read)).toEqual(alice);
    expect(reads).toBe(5);
    // The listening connection lost: everything kept is dropped, and nothing is kept until it is back.
    cache.listening(false);
    expect(cache.size).toBe(0);
    await cache.user('h1', read);
    await cache.user('h1', read);
    expect(reads).toBe(7);
  });

  test('a read that began before a revocation was heard is not kept (it may have seen the token still live)', async () => {
    const cache = new TokenCache(60_000);
    cache.listening(true);
    let release!: () => void;
    const slow = cache.user('h1', () => new Promise<User>((resolve) => { release = () => resolve(alice); }));
    cache.revoked('h1');
    release();
    expect(await slow).toEqual(alice);
    expect(cache.size).toBe(0);
    // The same across a lost and regained connection.
    const slower = cache.user('h2', () => new Promise<User>((resolve) => { release = () => resolve(alice); }));
    cache.listening(false);
    cache.listening(true);
    release();
    await slower;
    expect(cache.size).toBe(0);
  });

  test('entries live at most ttl, and the oldest goes first past the limit', async () => {
    const cache = new TokenCache(50, 2);
    cache.listening(true);
    let reads = 0;
    const read = async () => { reads++; return alice; };
    await cache.user('a', read);
    await cache.user('b', read);
    await cache.user('c', read);
    expect(cache.size).toBe(2);
    await cache.user('a', read);
    expect(reads).toBe(4);
    await new Promise((r) => setTimeout(r, 60));
    await cache.user('a', read);
    expect(reads).toBe(5);
  });
});
