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

/**
 * The database could not be reached or took no more connections (not a bug, not the request's
 * fault): the caller answers 503 and the client tries again. PostgreSQL's class 08 (connection
 * exception), 53300 (too many connections), 57P01-57P03 (shutting down, starting up), the socket
 * refused or cut, or no pooled connection within the pool's timeout.
 */
export function isDatabaseUnavailable(err: unknown): boolean {
  const e = err as { code?: unknown; name?: unknown } | null;
  if (!e || typeof e !== 'object') return false;
  if (e.name === 'KnexTimeoutError') return true;
  const code = typeof e.code === 'string' ? e.code : '';
  return code.startsWith('08') || ['53300', '57P01', '57P02', '57P03', 'ECONNREFUSED', 'ECONNRESET'].includes(code);
}
