import { Connection } from '@temporalio/client';
import { NativeConnection, Worker } from '@temporalio/worker';
import { hostLiveSeconds, loadConfig, placementRatios } from '../lib/config';
import { createLogger } from '../lib/logger';
import { createDb, migrateLatest } from '../db/connection';
import { createControlActivities } from '../activities/control/instance-activities';
import { createIpHealthActivities } from '../activities/control/ip-health-activities';
import { createImageControlActivities } from '../activities/control/image-activities';
import { createMigrationActivities } from '../activities/control/migration-activities';
import { ensureIpHealthSchedule } from './ip-health-schedule';

// Runs every workflow and the activities that touch the database, on `vcloud-control`.
async function main() {
  const config = loadConfig();
  const log = createLogger('control-worker', config.logLevel);
  const db = createDb(config.databaseUrl);
  await migrateLatest(db);
  const connection = await NativeConnection.connect({ address: config.temporalAddress });
  const control = createControlActivities({ db, ratios: placementRatios(config), hostLiveSeconds: hostLiveSeconds(config) });
  const worker = await Worker.create({
    connection,
    namespace: config.temporalNamespace,
    taskQueue: config.controlQueue,
    workflowsPath: require.resolve('../workflows'),
    activities: {
      ...control,
      ...createMigrationActivities({
        db, ratios: placementRatios(config), hostLiveSeconds: hostLiveSeconds(config), registry: config.registry,
        imageStoreDir: config.imageStoreDir, getInstanceSpec: control.getInstanceSpec,
      }),
      ...createIpHealthActivities({ db, hostLiveSeconds: hostLiveSeconds(config), releaseAfter: config.ipHealthReleaseAfter }),
      ...createImageControlActivities({ db, registry: config.registry, hostLiveSeconds: hostLiveSeconds(config) }),
    },
  });
  const client = await Connection.connect({ address: config.temporalAddress });
  await ensureIpHealthSchedule(client, config);
  await client.close();
  log.info({ taskQueue: config.controlQueue }, 'control worker running');
  const stop = () => worker.shutdown();
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
  await worker.run();
  await connection.close();
  await db.destroy();
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
