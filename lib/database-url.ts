import fs from 'node:fs';
import path from 'node:path';

/**
 * The local Postgres URL of `database` for the application's role, with the password `up` generated
 * (`<data dir>/pg-password`, mode 0600): no process carries a default password.
 */
export function localDatabaseUrl(dataDir: string, database: string): string {
  const user = process.env.VCLOUD_PG_USER ?? 'vcloud';
  const file = path.join(dataDir, 'pg-password');
  const password = fs.existsSync(file) ? fs.readFileSync(file, 'utf8').trim() : '';
  const auth = password ? `${encodeURIComponent(user)}:${encodeURIComponent(password)}` : encodeURIComponent(user);
  return `postgres://${auth}@127.0.0.1:5432/${database}`;
}
