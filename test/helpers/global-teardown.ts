import { Client, Connection } from '@temporalio/client';
import { stopAll } from './processes';
import { TEMPORAL_ADDRESS, TEST_HOST_WATCH_SCHEDULE, TEST_IP_HEALTH_SCHEDULE, TEST_RECONCILE_SCHEDULE, TEST_STORAGE_GC_SCHEDULE } from './env';

export default async function globalTeardown(): Promise<void> {
  await stopAll();
  // The test control worker made these Schedules; nothing will serve them once the tests are done.
  const connection = await Connection.connect({ address: TEMPORAL_ADDRESS });
  try {
    for (const id of [TEST_IP_HEALTH_SCHEDULE, TEST_RECONCILE_SCHEDULE, TEST_HOST_WATCH_SCHEDULE, TEST_STORAGE_GC_SCHEDULE]) await new Client({ connection }).schedule.getHandle(id).delete().catch(() => undefined);
  } finally {
    await connection.close();
  }
}
