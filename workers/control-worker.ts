import { NativeConnection, Worker } from '@temporalio/worker';
import { loadConfig } from '../lib/config';
import { createLogger } from '../lib/logger';
import { createDb, migrateLatest } from '../db/connection';
import { createControlActivities } from '../activities/control/instance-activities';

// Runs every workflow and the activities that touch the database, on `vcloud-control`.
async function main() {
  const config = loadConfig();
  const log = createLogger('control-worker', config.logLevel);
  const db = createDb(config.databaseUrl);
  await migrateLatest(db);
  const connection = await NativeConnection.connect({ address: config.temporalAddress });
  const worker = await Worker.create({
    connection,
    namespace: config.temporalNamespace,
    taskQueue: config.controlQueue,
    workflowsPath: require.resolve('../workflows'),
    activities: createControlActivities({
      db,
      ratios: { cpu: config.cpuAllocationRatio, memory: config.memoryAllocationRatio },
      hostLiveSeconds: config.heartbeatSeconds * 6,
    }),
  });
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
