import path from 'node:path';
import knexFactory, { type Knex } from 'knex';
import { syncTransitions } from './instance-transitions';

export type Db = Knex | Knex.Transaction;

export function createDb(databaseUrl: string, pool = { min: 0, max: 10 }): Knex {
  return knexFactory({ client: 'pg', connection: databaseUrl, pool });
}

export const migrationConfig: Knex.MigratorConfig = {
  directory: path.join(__dirname, 'migrations'),
  loadExtensions: ['.js'],
  tableName: 'knex_migrations',
};

/** Migrations, then the instance transition table from the code (the trigger checks against it). */
export async function migrateLatest(db: Knex): Promise<void> {
  await db.migrate.latest(migrationConfig);
  await syncTransitions(db);
}
