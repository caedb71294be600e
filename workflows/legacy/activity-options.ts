// Frozen: the previous release's workflow, kept so its recorded histories replay (see ../index.ts).
import { proxyActivities, proxyLocalActivities } from '@temporalio/workflow';
import { hostQueue } from '../../lib/host-queue';
import type {
  ControlActivities, HostActivities, ImageActivities, ImageControlActivities, IpHealthActivities, MigrationActivities,
} from './activity-types';

/**
 * Control steps are short database transactions on the worker that runs the workflow, so they
 * run as local activities: recorded in the history as markers, retried like any activity, but
 * without a round trip through the server for each (about a third of a create's latency).
 */
export const control = proxyLocalActivities<ControlActivities>({
  startToCloseTimeout: '30 seconds',
  retry: { initialInterval: '500 milliseconds', maximumInterval: '10 seconds', maximumAttempts: 20 },
});

/**
 * Host work runs on the host's own queue. The short schedule-to-start timeout is how a dead host
 * is noticed instead of waited on forever.
 */
export function hostActivities(hostId: string, scheduleToStartSeconds = 30) {
  return proxyActivities<HostActivities>({
    taskQueue: hostQueue(hostId),
    scheduleToStartTimeout: `${scheduleToStartSeconds} seconds`,
    startToCloseTimeout: '10 minutes',
    heartbeatTimeout: '2 minutes',
    retry: { initialInterval: '1 second', maximumInterval: '15 seconds', maximumAttempts: 5 },
  });
}

/** Short database steps of the health check and of conversions, run locally like `control`. */
const localSteps = {
  startToCloseTimeout: '30 seconds',
  retry: { initialInterval: '500 milliseconds', maximumInterval: '10 seconds', maximumAttempts: 10 },
} as const;

export const ipHealth = proxyLocalActivities<IpHealthActivities>(localSteps);

/** A probe is worth little late: a host that does not pick it up quickly leaves its zone unchecked. */
export function probeActivities(hostId: string) {
  return proxyActivities<HostActivities>({
    taskQueue: hostQueue(hostId),
    scheduleToStartTimeout: '10 seconds',
    startToCloseTimeout: '2 minutes',
    retry: { initialInterval: '1 second', maximumAttempts: 2 },
  });
}

export const imageControl = proxyLocalActivities<ImageControlActivities>(localSteps);

/**
 * A conversion can take long; the heartbeat timeout is what notices a dead agent, and the
 * retry runs the step again on the same host when its agent is back.
 */
export function convertActivities(hostId: string) {
  return proxyActivities<ImageActivities>({
    taskQueue: hostQueue(hostId),
    scheduleToStartTimeout: '5 minutes',
    startToCloseTimeout: '2 hours',
    heartbeatTimeout: '15 seconds',
    retry: { initialInterval: '1 second', maximumInterval: '30 seconds', maximumAttempts: 10 },
  });
}

export const migration = proxyLocalActivities<MigrationActivities>({
  startToCloseTimeout: '30 seconds',
  retry: { initialInterval: '500 milliseconds', maximumInterval: '10 seconds', maximumAttempts: 20 },
});

/**
 * Steps on a migration's source, which may be dead: a short schedule-to-start timeout is the
 * verdict, and a step that timed out that way is not retried.
 */
export function sourceActivities(hostId: string, scheduleToStartSeconds: number) {
  return proxyActivities<HostActivities>({
    taskQueue: hostQueue(hostId),
    scheduleToStartTimeout: `${scheduleToStartSeconds} seconds`,
    startToCloseTimeout: '30 minutes',
    heartbeatTimeout: '1 minute',
    retry: { initialInterval: '1 second', maximumInterval: '15 seconds', maximumAttempts: 3 },
  });
}
