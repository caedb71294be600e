import { loadConfig } from '../lib/config';
import { createLogger } from '../lib/logger';
import { createDb, migrateLatest } from '../db/connection';
import { finishBuildingPools } from '../db/zones';
import { createWorkflowStarter } from './temporal';
import { createApp } from './app';

async function main() {
  const config = loadConfig();
  const log = createLogger('api', config.logLevel);
  const db = createDb(config.databaseUrl, { min: 0, max: 20 });
  await migrateLatest(db);
  const finished = await finishBuildingPools(db);
  if (finished) log.info({ pools: finished }, 'finished building pools a crash had cut short');
  const starter = createWorkflowStarter(config);
  const app = createApp({ db, starter, config }, log);
  const server = app.listen(config.apiPort, config.apiHost, () => log.info({ port: config.apiPort }, 'API listening'));
  const stop = () => server.close(async () => {
    await starter.close();
    await db.destroy();
    process.exit(0);
  });
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
