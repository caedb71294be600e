import { loadConfig } from '../lib/config';
import { createLogger } from '../lib/logger';
import { createDb, migrateLatest } from '../db/connection';
import { finishBuildingPools } from '../db/zones';
import { createWorkflowStarter } from './temporal';
import { createApp } from './app';
import { TokenCache } from './token-cache';
import { listenForRevocations } from '../db/token-revocations';

async function main() {
  const config = loadConfig();
  const log = createLogger('api', config.logLevel);
  const db = createDb(config.databaseUrl, { min: 0, max: 20 });
  await migrateLatest(db);
  const finished = await finishBuildingPools(db);
  if (finished) log.info({ pools: finished }, 'finished building pools a crash had cut short');
  const starter = createWorkflowStarter(config);
  // Checked tokens kept in the process, while it hears every revocation (api/token-cache.ts).
  const tokens = config.tokenCacheSeconds > 0 ? new TokenCache(config.tokenCacheSeconds * 1000) : undefined;
  const stopListening = tokens ? listenForRevocations(config.databaseUrl, tokens) : async () => undefined;
  const app = createApp({ db, starter, config, tokens }, log);
  const server = app.listen(config.apiPort, config.apiHost, () => log.info({ port: config.apiPort }, 'API listening'));
  const stop = () => server.close(async () => {
    await starter.close();
    await stopListening();
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
