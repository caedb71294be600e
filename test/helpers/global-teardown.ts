import { Client, Connection } from '@temporalio/client';
import { stopAll } from './processes';
import { TEMPORAL_ADDRESS, TEST_IP_HEALTH_SCHEDULE } from './env';

export default async function globalTeardown(): Promise<void> {
  await stopAll();
  // The test control worker made this Schedule; nothing will serve it once the tests are done.
  const connection = await Connection.connect({ address: TEMPORAL_ADDRESS });
  try {
    await new Client({ connection }).schedule.getHandle(TEST_IP_HEALTH_SCHEDULE).delete().catch(() => undefined);
  } finally {
    await connection.close();
  }
}
