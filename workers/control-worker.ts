import { temporalConnectionOptions } from '../lib/temporal-tls';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection, Worker } from '@temporalio/worker';
import { checkFencingTimes, hostLiveSeconds, loadConfig, placementRatios } from '../lib/config';
import { createLogger } from '../lib/logger';
import { withHolds } from '../lib/test-holds';
import { createDb, migrateLatest } from '../db/connection';
import { createControlActivities } from '../activities/control';
import { ensureRankIndex } from '../db/placement';
import { ensureSchedules } from './schedules';

// Runs every workflow and the activities that touch the database, on `vcloud-control`.
async function main() {
  const config = loadConfig();
  checkFencingTimes(config);
  const log = createLogger('control-worker', config.logLevel);
  const db = createDb(config.databaseUrl);
  await migrateLatest(db);
  await ensureRankIndex(db, placementRatios(config));
  const client = await Connection.connect(temporalConnectionOptions(config));
  const connection = await NativeConnection.connect(temporalConnectionOptions(config));
  const activities = createControlActivities({
    db, ratios: placementRatios(config), hostLiveSeconds: hostLiveSeconds(config), registry: config.registry,
    imageStoreDir: config.imageStoreDir, ipHealthReleaseAfter: config.ipHealthReleaseAfter,
    temporal: async () => new Client({ connection: client, namespace: config.temporalNamespace }),
    controlQueue: config.controlQueue, operationGraceSeconds: config.operationGraceSeconds, orphanGraceSeconds: config.orphanGraceSeconds,
    deadAfterSeconds: config.deadAfterSeconds, selfFenceSeconds: config.selfFenceSeconds, failoverConcurrency: config.failoverConcurrency,
    sourceScheduleToStartSeconds: config.sourceScheduleToStartSeconds,
    registryConfig: config.registryConfig, registryDataDir: config.registryDataDir, registryBin: config.registryBin,
    registryGcLeaseSeconds: config.registryGcLeaseSeconds, storeGraceSeconds: config.storeGcGraceSeconds,
  });
  const worker = await Worker.create({
    connection,
    namespace: config.temporalNamespace,
    taskQueue: config.controlQueue,
    workflowsPath: require.resolve('../workflows'),
    activities: withHolds('control', activities),
  });
  await ensureSchedules(client, config);
  log.info({ taskQueue: config.controlQueue }, 'control worker running');
  const stop = () => worker.shutdown();
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
  await worker.run();
  await connection.close();
  await client.close();
  await db.destroy();
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
