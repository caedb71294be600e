import { ActivityCancellationType, ActivityFailure, ApplicationFailure, isCancellation, proxyActivities, proxyLocalActivities } from '@temporalio/workflow';
import { hostQueue } from '../lib/host-queue';
import { BUSINESS_ERROR_TYPES } from '../lib/errors';
import type { ControlActivities } from '../activities/control';
import type { HostActivities } from '../activities/host/instance-activities';
import type { ImageActivities } from '../activities/host/image-activities';

/**
 * The application failure an activity ended with: wrapped in an ActivityFailure for an ordinary
 * activity, as it is for a local one.
 */
export function applicationFailureOf(err: unknown): ApplicationFailure | null {
  if (err instanceof ApplicationFailure) return err;
  if (err instanceof ActivityFailure && err.cause instanceof ApplicationFailure) return err.cause;
  return null;
}

/** The type an activity's failure carries (its error's class name), if any. */
export const failureType = (err: unknown): string | undefined => applicationFailureOf(err)?.type ?? undefined;

/** A failure a retry can fix: an activity that ran out of attempts or time on an infrastructure error. */
export function isInfrastructureFailure(err: unknown): boolean {
  if (isCancellation(err)) return false;
  const failure = applicationFailureOf(err);
  if (!failure) return err instanceof ActivityFailure; // a timeout: the host or the worker did not answer
  return !failure.nonRetryable && !BUSINESS_ERROR_TYPES.includes(failure.type ?? '');
}

// Control steps are short database transactions on the worker that runs the workflow, so they
// first run as local activities (markers in the history, no server round trip each). One that keeps
// failing for a few seconds (Postgres down, say) becomes an ordinary activity on the control queue
// that retries with backoff for as long as it takes, its attempts and last failure shown in the
// Temporal UI. Business failures (no capacity, a state conflict) fail at once, by their type.
const localControl = proxyLocalActivities<ControlActivities>({
  startToCloseTimeout: '30 seconds',
  retry: { initialInterval: '200 milliseconds', maximumInterval: '2 seconds', maximumAttempts: 6, nonRetryableErrorTypes: BUSINESS_ERROR_TYPES },
});
const durableControl = proxyActivities<ControlActivities>({
  startToCloseTimeout: '1 minute',
  retry: { initialInterval: '1 second', maximumInterval: '30 seconds', nonRetryableErrorTypes: BUSINESS_ERROR_TYPES },
});

export const control = new Proxy({} as ControlActivities, {
  get: (_target, name: string) => async (...args: unknown[]) => {
    try {
      return await (localControl as any)[name](...args);
    } catch (err) {
      if (!isInfrastructureFailure(err)) throw err;
      return (durableControl as any)[name](...args);
    }
  },
});

const retry = (maximumAttempts: number) => ({ initialInterval: '1 second', maximumInterval: '15 seconds', maximumAttempts, nonRetryableErrorTypes: BUSINESS_ERROR_TYPES });

/**
 * Host work runs on the host's own queue. A host step heartbeats every 3 s, so a dead or frozen
 * agent is noticed within the heartbeat timeout; the schedule-to-start timeout is how a host whose
 * agent is gone is noticed instead of waited on forever.
 */
export function onHost(hostId: string, scheduleToStartSeconds = 30, cancel: 'try' | 'wait' = 'try') {
  return proxyActivities<HostActivities>({
    taskQueue: hostQueue(hostId),
    scheduleToStartTimeout: `${scheduleToStartSeconds} seconds`,
    startToCloseTimeout: '30 minutes',
    heartbeatTimeout: '20 seconds',
    retry: retry(5),
    // 'wait': a cancelled step is over (ended, cancelled or timed out) before the workflow goes on to
    // its undos; the SDK's default reports it cancelled at once, while the host may still run it.
    ...(cancel === 'wait' ? { cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED } : {}),
  });
}

/**
 * A reconcile round's clean-up on a host (a leftover destroyed): like a look, worth little late. A
 * host that does not take it quickly, or dies during it, is left to the next round instead of holding
 * up this one, and the repairs the round starts after the hosts.
 */
export function tidyOnHost(hostId: string) {
  return proxyActivities<HostActivities>({
    taskQueue: hostQueue(hostId),
    scheduleToStartTimeout: '10 seconds',
    startToCloseTimeout: '5 minutes',
    heartbeatTimeout: '20 seconds',
    retry: retry(2),
  });
}

/** A look at a host (a probe, its inventory) is worth little late: a host that does not take it quickly is skipped. */
export function lookAtHost(hostId: string) {
  return proxyActivities<HostActivities>({
    taskQueue: hostQueue(hostId),
    scheduleToStartTimeout: '10 seconds',
    startToCloseTimeout: '2 minutes',
    retry: retry(2),
  });
}

/** A conversion can take long; the heartbeat timeout notices a dead agent, the retry runs it again when it is back. */
export function convertOn(hostId: string) {
  return proxyActivities<ImageActivities>({
    taskQueue: hostQueue(hostId),
    scheduleToStartTimeout: '5 minutes',
    startToCloseTimeout: '2 hours',
    heartbeatTimeout: '20 seconds',
    retry: { ...retry(10), maximumInterval: '30 seconds' },
  });
}
