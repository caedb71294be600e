import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Knex } from 'knex';
import { apiClient, createBody, deleteInstances, testDb, waitForOperation, waitUntil, type ApiClient } from '../helpers/platform';
import { TEST_ZONE } from '../helpers/env';
import { run } from '../../host/run';
import { inCidr } from '../../lib/net';
import { createUser, issueToken } from '../../db/users';

/** `ssh root@<ip> hostname` with this key, only ever to an address of the test zone. */
async function sshHostname(ip: string, key: string): Promise<string> {
  if (!inCidr(ip, TEST_ZONE.subnet)) throw new Error(`refusing to ssh to ${ip}: outside the test zone`);
  return (await run('ssh', ['-i', key, '-o', 'BatchMode=yes', '-o', 'StrictHostKeyChecking=no', '-o', 'UserKnownHostsFile=/dev/null',
    '-o', 'ConnectTimeout=5', '-o', 'LogLevel=ERROR', '-o', 'IdentitiesOnly=yes', `root@${ip}`, 'hostname'], 20_000)).trim();
}

describe('ssh into every instance: keys registered by users, installed by the platform, the Debian template', () => {
  let admin: ApiClient;
  let db: Knex;
  let dir: string;
  const made: string[] = [];
  const key = (name: string) => path.join(dir, name);

  beforeAll(async () => {
    admin = apiClient();
    db = testDb();
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vc-ssh-test-'));
    for (const [name, type, bits] of [['mine', 'ed25519', ''], ['other', 'ed25519', ''], ['weak', 'rsa', '1024']]) {
      await run('ssh-keygen', ['-q', '-t', type, ...(bits ? ['-b', bits] : []), '-N', '', '-C', `${name}@test`, '-f', key(name)]);
    }
  });
  afterAll(async () => {
    await deleteInstances(admin, made);
    await db.destroy();
    fs.rmSync(dir, { recursive: true, force: true });
  }, 180_000);

  const pub = (name: string) => fs.readFileSync(`${key(name)}.pub`, 'utf8').trim();

  test('keys: registered (comment dropped, fingerprinted), refused when bad, weak or twice, private to their user', async () => {
    const res = await admin.post('/v1/users/me/keys', { name: 'mine', publicKey: pub('mine') });
    expect(res.status).toBe(201);
    const fingerprint = (await run('ssh-keygen', ['-l', '-E', 'sha256', '-f', `${key('mine')}.pub`])).split(' ')[1];
    expect(res.body).toMatchObject({ name: 'mine', type: 'ed25519', fingerprint, publicKey: pub('mine').split(' ').slice(0, 2).join(' ') });
    for (const [body, status, field] of [
      [{ name: 'again', publicKey: pub('mine') }, 409, ''],
      [{ name: 'mine', publicKey: pub('other') }, 409, ''],
      [{ name: 'weak', publicKey: pub('weak') }, 400, 'publicKey'],
      [{ name: 'junk', publicKey: 'ssh-ed25519 AAAAnotakey' }, 400, 'publicKey'],
      [{ name: 'two', publicKey: `${pub('other')}\n${pub('mine')}` }, 400, 'publicKey'],
      [{ name: 'Bad Name', publicKey: pub('other') }, 400, 'name'],
    ] as const) {
      const r = await admin.post('/v1/users/me/keys', body);
      expect([body.name, r.status]).toEqual([body.name, status]);
      if (field) expect(r.body.errors.map((e: { path: string }) => e.path)).toContain(field);
    }
    const u = await createUser(db, `ssh-user-${Date.now()}`, 'user');
    const user = apiClient((await issueToken(db, u.id)).token);
    const adminId = (await db('users').where({ name: 'admin' }).first()).id;
    expect((await user.get(`/v1/users/${adminId}/keys`)).status).toBe(404);
    expect((await user.get('/v1/users/me/keys')).body.items).toEqual([]);
    expect((await admin.get('/v1/users/me/keys')).body.items.map((k: { name: string }) => k.name)).toEqual(['mine']);
    // A create naming a key the caller does not have writes nothing.
    const before = await db('instances').count('* as n').first();
    const bad = await user.post('/v1/instances', createBody('ssh-nokey', { keys: ['mine'] }));
    expect(bad.status).toBe(400);
    expect(bad.body.errors.map((e: { path: string }) => e.path)).toEqual(['keys']);
    expect(await db('instances').count('* as n').first()).toEqual(before);
  });

  test.each([
    ['a container', 'docker', 'debian'],
    ['a VM', 'kvm', 'debian-vm'],
  ])('%s of the Debian template answers `ssh root@<ip> hostname` with its hostname, for the key it was made with only', async (_what, kind, image) => {
    const res = await admin.post('/v1/instances', createBody(`ssh-${kind}`, { kind, image, memoryMb: 256, keys: ['mine'] }));
    expect(res.status).toBe(202);
    made.push(res.body.instance.id);
    expect(await waitForOperation(admin, res.body.operation.id, 240_000)).toMatchObject({ state: 'succeeded' });
    const row = await db('instances').where({ id: res.body.instance.id }).first();
    expect(row.authorized_keys).toBe(`${pub('mine').split(' ').slice(0, 2).join(' ')} vcloud:mine\n`);
    let answer = '';
    await waitUntil(`sshd of ${row.id} at ${row.ip}`, async () => {
      answer = await sshHostname(row.ip, key('mine')).catch(() => '');
      return answer !== '';
    }, 240_000);
    expect(answer).toBe(row.hostname);
    await expect(sshHostname(row.ip, key('other'))).rejects.toThrow(/Permission denied/);
  }, 600_000);
});
