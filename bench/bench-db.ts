import { createDb, migrateLatest, migrationConfig } from '../db/connection';
import type { Knex } from 'knex';

/** A database of the benchmarks' own, emptied and migrated: never the platform's or the tests'. */
export async function benchDb(): Promise<Knex> {
  const base = process.env.VCLOUD_BENCH_DATABASE_URL ?? 'postgres://vcloud:vcloud@127.0.0.1:5432/vcloud_bench';
  const admin = createDb(base.replace(/\/[^/]+$/, '/postgres'), { min: 0, max: 1 });
  try {
    const exists = await admin.raw('select 1 from pg_database where datname = ?', ['vcloud_bench']);
    if (exists.rows.length === 0) await admin.raw('create database vcloud_bench');
  } finally {
    await admin.destroy();
  }
  const db = createDb(base, { min: 0, max: 60 });
  await db.migrate.rollback(migrationConfig, true);
  await migrateLatest(db);
  return db;
}
