import { Client, ScheduleAlreadyRunning, ScheduleOverlapPolicy, type Connection } from '@temporalio/client';
import type { Config } from '../lib/config';

/**
 * Creates the `ip-pool-health` Schedule, or brings an existing one in line with this worker's
 * configuration: every control worker calls this on start, so it must be idempotent.
 */
export async function ensureIpHealthSchedule(connection: Connection, config: Config): Promise<void> {
  const client = new Client({ connection, namespace: config.temporalNamespace });
  const spec = { intervals: [{ every: `${config.ipHealthIntervalSeconds}s` }] };
  const action = {
    type: 'startWorkflow' as const, workflowType: 'ipPoolHealth', taskQueue: config.controlQueue,
    workflowId: config.ipHealthScheduleId, args: [{}],
  };
  try {
    await client.schedule.create({
      scheduleId: config.ipHealthScheduleId, spec, action,
      policies: { overlap: ScheduleOverlapPolicy.SKIP, catchupWindow: '1 minute' },
    });
  } catch (err) {
    if (!(err instanceof ScheduleAlreadyRunning)) throw err;
    await client.schedule.getHandle(config.ipHealthScheduleId).update((previous) => ({ ...previous, spec, action }));
  }
}
