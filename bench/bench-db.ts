import { createDb, migrateLatest, migrationConfig } from '../db/connection';
import type { Knex } from 'knex';
import { loadConfig } from '../lib/config';
import { localDatabaseUrl } from '../lib/database-url';

/** A database of the benchmarks' own, emptied and migrated: never the platform's or the tests'. */
export async function benchDb(): Promise<Knex> {
  // Made by `npm run up` and `npm test` (the application's role may not create databases).
  const base = process.env.VCLOUD_BENCH_DATABASE_URL ?? localDatabaseUrl(loadConfig().dataDir, 'vcloud_bench');
  const db = createDb(base, { min: 0, max: 60 });
  await db.migrate.rollback(migrationConfig, true);
  await migrateLatest(db);
  return db;
}
