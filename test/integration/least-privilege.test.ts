import fs from 'node:fs';
import path from 'node:path';
import type { Knex } from 'knex';
import { testDb } from '../helpers/platform';
import { DATA } from '../helpers/env';
import { run } from '../../host/run';

// What the platform runs with: a Postgres role that is no superuser, with a generated password only
// root can read, and the control plane's services listening on loopback only.
describe('least privilege', () => {
  let db: Knex;
  beforeAll(() => { db = testDb(); });
  afterAll(() => db.destroy());

  test('the application\'s Postgres role is no superuser and cannot create databases or roles', async () => {
    const role = (await db.raw('select rolsuper, rolcreatedb, rolcreaterole from pg_roles where rolname = current_user')).rows[0];
    expect(role).toEqual({ rolsuper: false, rolcreatedb: false, rolcreaterole: false });
    await expect(db.raw('create role vcloud_intruder login')).rejects.toThrow(/permission denied/);
    await expect(db.raw('select pg_read_file(\'/etc/hostname\')')).rejects.toThrow(/permission denied/);
  });

  test('its password was generated, and only root can read it', async () => {
    const file = path.join(DATA, 'pg-password');
    expect(fs.statSync(file).mode & 0o777).toBe(0o600);
    const password = fs.readFileSync(file, 'utf8').trim();
    expect(password).toMatch(/^[0-9a-f]{48}$/);
  });

  test('Temporal\'s frontend and the registry listen on loopback only', async () => {
    const listening = (await run('ss', ['-Hltn'])).split('\n').map((l) => l.trim().split(/\s+/)[3]).filter(Boolean);
    for (const port of ['7233', '5000']) {
      const on = listening.filter((a) => a.endsWith(`:${port}`));
      expect(on.length).toBeGreaterThan(0);
      for (const address of on) expect(address).toMatch(/^(127\.0\.0\.1|\[::1\]):/);
    }
  });
});
