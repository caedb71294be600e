import { loadConfig } from '../lib/config';
import { createDb, migrateLatest, migrationConfig } from './connection';

// `node dist/db/migrate-cli.js latest|rollback-all [databaseUrl]`
async function main() {
  const [command = 'latest', url] = process.argv.slice(2);
  const db = createDb(url ?? loadConfig().databaseUrl, { min: 0, max: 2 });
  try {
    if (command === 'latest') await migrateLatest(db);
    else if (command === 'rollback-all') await db.migrate.rollback(migrationConfig, true);
    else throw new Error(`unknown command ${command}`);
  } finally {
    await db.destroy();
  }
}
main().catch((err) => { console.error(err); process.exit(1); });
