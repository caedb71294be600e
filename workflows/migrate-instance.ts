import { ActivityFailure, ApplicationFailure, TimeoutFailure, isCancellation, patched, proxyActivities, uuid4 } from '@temporalio/workflow';
import { TimeoutType } from '@temporalio/common';
import { control, onHost } from './activity-options';
import { FENCING, LIFECYCLE_V2, runOperation } from './operation';
import { reasonOf } from './saga';
import { judgeHost } from './liveness';
import { buildOnTarget } from './build-on-target';
import { hostQueue } from '../lib/host-queue';
import { BUSINESS_ERROR_TYPES } from '../lib/errors';
import type { InstanceState } from '../lib/instance-states';
import type { Restore } from '../activities/control/instance-activities';
import type { HostActivities } from '../activities/host/instance-activities';
import { migrateInstance as legacyMigrateInstance } from './legacy/migrate-instance';

export interface MigrateInput {
  operationId: string; instanceId: string;
  /** 'latest': a fresh snapshot on a live source, else the latest one there is; 'none': the base image; or a snapshot id. */
  snapshot: string;
  host?: string | null;
  /** From an evacuation that already knows the source is dead: do not wait on it. */
  sourceAlive?: boolean;
  sourceScheduleToStartSeconds?: number;
  /** How long a source that is alive but does not take its steps (busy) is waited for. */
  busySourceWaitSeconds?: number;
}
export interface MigrateResult { hostId: string; snapshotId: string | null; sourceAlive: boolean }

/** The step was not taken by the host's agent in time: it is busy, or gone. */
const notTaken = (err: unknown) =>
  err instanceof ActivityFailure && err.cause instanceof TimeoutFailure && err.cause.timeoutType === TimeoutType.SCHEDULE_TO_START;
const DEAD = Symbol('dead');
/** Moves started before this marker took their source's snapshot and its stop as two host steps, each with a fresh spec. */
export const MOVE_SOURCE_ONE_STEP = 'move-source-one-step';

/** Steps on a migration's source, which may be dead: a short schedule-to-start timeout is the verdict, not retried. */
function onSource(hostId: string, scheduleToStartSeconds: number) {
  return proxyActivities<HostActivities>({
    taskQueue: hostQueue(hostId),
    scheduleToStartTimeout: `${scheduleToStartSeconds} seconds`,
    startToCloseTimeout: '30 minutes',
    heartbeatTimeout: '20 seconds',
    retry: { initialInterval: '1 second', maximumInterval: '15 seconds', maximumAttempts: 3, nonRetryableErrorTypes: BUSINESS_ERROR_TYPES },
  });
}

/**
 * Same id, IP, MAC and hostname on another host. The target is claimed first (no room: nothing is
 * touched), the source is stopped before the target starts, so the address is never on the wire
 * twice, and the instance ends in the state it was in (a stopped instance stays stopped). Before
 * the commit, a failure undoes the target and brings the source back; the commit is one
 * transaction that also records the source's copy for destruction, so a copy a dead source still
 * has is destroyed by whoever reaches it first.
 */
export async function migrateInstance(input: MigrateInput): Promise<MigrateResult> {
  if (!patched(LIFECYCLE_V2)) return legacyMigrateInstance(input);
  const { instanceId } = input;
  const wait = input.sourceScheduleToStartSeconds ?? 15;
  let prior: InstanceState | null = null;
  return runOperation(input.operationId, {
    async run(op, saga) {
      const begun = await control.beginMigrate(op, instanceId);
      const wasRunning = begun.priorState === 'running';
      prior = begun.priorState;
      let sourceAlive = input.sourceAlive !== false && begun.sourceHostId !== null;
      const source = begun.sourceHostId ? onSource(begun.sourceHostId, wait) : null;
      const busyUntil = Date.now() + (input.busySourceWaitSeconds ?? 600) * 1000;
      // Judged dead: undos on the source cannot run now; the reconciler sets its copy right when it returns.
      let sourceDead = false;
      /**
       * A step on the source. Not taken in time, the source is judged by the liveness rule: alive
       * (its probe answers: busy) or not known yet, the step is asked again until busySourceWait;
       * dead, it is fenced first (else nothing is rebuilt: the move fails and is undone).
       */
      const onLiveSource = async <T>(step: () => Promise<T>, taken: () => void): Promise<T | typeof DEAD> => {
        for (;;) {
          try {
            const done = await step();
            taken();
            return done;
          } catch (err) {
            if (!notTaken(err)) {
              taken();
              throw err;
            }
            // Before fencing, a source that did not take a step in time counted as dead at once.
            if (!patched(FENCING)) return DEAD;
            const judged = await judgeHost(begun.sourceHostId!);
            if (judged.verdict === 'dead') {
              sourceDead = true;
              await control.fenceHost(op, begun.sourceHostId!);
              return DEAD;
            }
            await control.recordProgress(op, {
              waitingForSource: begun.sourceHostId, probeAnswered: judged.probeAnswered, heartbeatAgeSeconds: judged.facts.heartbeatAgeSeconds,
            });
            if (Date.now() >= busyUntil) {
              throw ApplicationFailure.nonRetryable(`source host ${begun.sourceHostId} did not take the move's steps for ${input.busySourceWaitSeconds ?? 600} s (${judged.probeAnswered ? 'busy: its probe answers' : 'not answering, not yet dead'})`, 'SourceBusyError');
            }
          }
        }
      };
      const spec = (on: 'home' | 'target' = 'home', restore: Restore | null = null) => control.instanceSpec(op, instanceId, on, restore);

      saga.add('release the target claim', () => control.releaseTarget(op, instanceId));
      const claim = await control.claimTarget(op, instanceId, input.host ?? null);

      let restore: Restore | null = null;
      if (patched(MOVE_SOURCE_ONE_STEP)) {
        // A snapshot named by the request is read first: a bad one fails the move with nothing touched.
        if (input.snapshot !== 'latest' && input.snapshot !== 'none') restore = await control.snapshotRestore(op, input.snapshot);
        if (sourceAlive && source) {
          const snapshotId = input.snapshot === 'latest' ? uuid4() : null;
          if (snapshotId) {
            await control.createSnapshotRow(op, instanceId, snapshotId);
            // A snapshot made before the step failed (at its stop, say) is never ready: its data goes (a ready one stays).
            saga.add('discard the snapshot data', () => control.discardSnapshot(op, snapshotId));
          }
          // Undone only if the source took the step (a step it never took froze and stopped nothing).
          let taken = false;
          saga.add('bring the source back', async () => {
            if (!taken || sourceDead) return;
            // Bringing it back thaws it first; a copy that was stopped before the move only needs the thaw.
            if (wasRunning) await source.convergeInstance(await spec(), 'running');
            else if (snapshotId) await source.endSnapshot(await spec());
          });
          try {
            const left = await onLiveSource(async () => source.snapshotAndStop(await spec(), snapshotId), () => { taken = true; });
            if (left === DEAD) {
              sourceAlive = false;
              if (snapshotId) await control.markSnapshotFailed(op, snapshotId, 'the source host is dead');
            } else if (snapshotId && left) {
              await control.markSnapshotReady(op, snapshotId, left.location, left.digest);
              restore = { snapshotId, location: left.location, digest: left.digest };
            }
          } catch (err) {
            if (snapshotId) await control.markSnapshotFailed(op, snapshotId, reasonOf(err));
            throw err;
          }
        }
        if (input.snapshot === 'latest') restore ??= await control.latestSnapshot(op, instanceId);
      } else {
        if (input.snapshot === 'latest') {
          if (sourceAlive && source) {
            const snapshotId = uuid4();
            await control.createSnapshotRow(op, instanceId, snapshotId);
            // Undone only if the source took the step (a step it never took froze nothing).
            let snapshotTaken = false;
            saga.add('thaw the source', async () => { if (snapshotTaken && !sourceDead) await source.endSnapshot(await spec()); });
            try {
              const made = await onLiveSource(async () => source.snapshotInstance(await spec(), snapshotId), () => { snapshotTaken = true; });
              if (made === DEAD) {
                await control.markSnapshotFailed(op, snapshotId, 'the source host is dead');
                sourceAlive = false;
              } else {
                await control.markSnapshotReady(op, snapshotId, made.location, made.digest);
                restore = { snapshotId, location: made.location, digest: made.digest };
              }
            } catch (err) {
              await control.markSnapshotFailed(op, snapshotId, reasonOf(err));
              throw err;
            }
          }
          restore ??= await control.latestSnapshot(op, instanceId);
        } else if (input.snapshot !== 'none') {
          restore = await control.snapshotRestore(op, input.snapshot);
        }

        if (sourceAlive && source) {
          let stopTaken = false;
          saga.add('bring the source back', async () => {
            if (wasRunning && stopTaken && !sourceDead) await source.convergeInstance(await spec(), 'running');
          });
          if ((await onLiveSource(async () => source.stopInstance(await spec()), () => { stopTaken = true; })) === DEAD) sourceAlive = false;
        }
      }

      const target = onHost(claim.hostId);
      saga.add('destroy the target copy', async () => target.destroyInstance(await spec('target')));
      await buildOnTarget(op, instanceId, claim.hostId, spec, restore, wasRunning);

      await control.commitMigration(op, instanceId, begun.sourceHostId, begun.priorState);
      // The instance lives on the target now: undoing anything would take it down or double its address.
      saga.clear();
      if (sourceAlive && source && begun.sourceHostId) {
        try {
          await control.guard(op);
          await source.destroyInstance({ instanceId, kind: begun.kind });
          await control.clearStaleCopy(op, instanceId, begun.sourceHostId);
        } catch (err) {
          // The copy stays recorded: the reconciler, or the source's agent when it starts, destroys it.
          if (isCancellation(err)) throw err;
        }
      }
      return { hostId: claim.hostId, snapshotId: restore?.snapshotId ?? null, sourceAlive };
    },
    async settle(op, f) {
      if (!prior) return;
      if (f.stuck) {
        await control.settleInstance(op, instanceId, 'repairing', { from: ['migrating'], failure: f.reason, repairTo: prior as 'running' | 'stopped', onlyIfOwned: true });
      } else {
        await control.settleInstance(op, instanceId, prior, { from: ['migrating'], failure: `migration failed: ${f.reason}`, onlyIfOwned: true });
      }
    },
  });
}
