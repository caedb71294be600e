import { Client, ScheduleAlreadyRunning, ScheduleOverlapPolicy, type Connection } from '@temporalio/client';
import type { Config } from '../lib/config';

interface ScheduleSpec { id: string; everySeconds: number; workflowType: string; args: unknown[] }

/**
 * Creates a Schedule, or brings an existing one in line with this worker's configuration: every
 * control worker calls this on start, so it must be idempotent. A run still going when the next is
 * due makes that one skip.
 */
async function ensureSchedule(client: Client, config: Config, s: ScheduleSpec): Promise<void> {
  const spec = { intervals: [{ every: `${s.everySeconds}s` }] };
  const action = { type: 'startWorkflow' as const, workflowType: s.workflowType, taskQueue: config.controlQueue, workflowId: s.id, args: s.args };
  try {
    await client.schedule.create({ scheduleId: s.id, spec, action, policies: { overlap: ScheduleOverlapPolicy.SKIP, catchupWindow: '1 minute' } });
  } catch (err) {
    if (!(err instanceof ScheduleAlreadyRunning)) throw err;
    await client.schedule.getHandle(s.id).update((previous) => ({ ...previous, spec, action }));
  }
}

/** The IP-pool health check, the reconciler, the host watch (automatic failover) and the storage garbage collection. */
export async function ensureSchedules(connection: Connection, config: Config): Promise<void> {
  const client = new Client({ connection, namespace: config.temporalNamespace });
  await ensureSchedule(client, config, { id: config.ipHealthScheduleId, everySeconds: config.ipHealthIntervalSeconds, workflowType: 'ipPoolHealth', args: [{}] });
  await ensureSchedule(client, config, { id: config.reconcileScheduleId, everySeconds: config.reconcileIntervalSeconds, workflowType: 'reconcile', args: [] });
  await ensureSchedule(client, config, { id: config.hostWatchScheduleId, everySeconds: config.hostWatchSeconds, workflowType: 'watchHosts', args: [] });
  await ensureSchedule(client, config, { id: config.storageGcScheduleId, everySeconds: config.storageGcIntervalSeconds, workflowType: 'storageGc', args: [{}] });
}
