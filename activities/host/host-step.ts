import { CancelledFailure, Context } from '@temporalio/activity';
import { stepContext } from '../../host/run';
import { holdIfAsked } from '../../lib/test-holds';

/** Seconds between heartbeats; the host activities' heartbeat timeout is a few of these. */
export const HEARTBEAT_EVERY_MS = 3000;

export interface StepTools {
  /** What the step is doing now: sent with every heartbeat, shown in the Temporal UI. */
  progress(phase: string, detail?: Record<string, unknown>): void;
  /**
   * One phase of a step that does several (a create's build): shown in the heartbeat details, and a
   * test can hold the agent at it by the phase's name, as it could when each was its own activity.
   */
  phase<T>(name: string, fn: () => Promise<T>): Promise<T>;
  /** `fn` alone among the steps and phases keyed `key` on this agent (an image's cache, say). */
  exclusive<T>(key: string, fn: () => Promise<T>): Promise<T>;
}

/**
 * Runs one host step of one instance (or image):
 * - it heartbeats every few seconds with its phase, so a dead or frozen agent is noticed within
 *   the heartbeat timeout, and a long unpack, mkfs or qemu-img is not taken for one;
 * - steps with the same key run one at a time on this agent: a retried attempt waits for the
 *   attempt it replaces to end instead of running beside it;
 * - the commands it runs are killed when Temporal cancels the step (or its heartbeat finds it timed
 *   out), and die with the agent (host/run.ts).
 */
export class HostSteps {
  private readonly running = new Map<string, Promise<void>>();

  constructor(private readonly holdPrefix: string) {}

  async run<T>(name: string, key: string, fn: (tools: StepTools) => Promise<T>): Promise<T> {
    const ctx = Context.current();
    let details: Record<string, unknown> = { phase: 'waiting for an earlier attempt' };
    const beat = () => ctx.heartbeat(details);
    const ticker = setInterval(beat, HEARTBEAT_EVERY_MS);
    const release = await this.acquire(key);
    try {
      if (ctx.cancellationSignal.aborted) throw new CancelledFailure('cancelled while waiting for an earlier attempt');
      details = { phase: 'starting' };
      beat();
      await holdIfAsked(`${this.holdPrefix}.${name}`, beat, ctx.cancellationSignal);
      const progress = (phase: string, detail: Record<string, unknown> = {}) => {
        details = { phase, ...detail };
        beat();
      };
      return await stepContext.run({ signal: ctx.cancellationSignal }, () => fn({
        progress,
        phase: async (phaseName, phaseFn) => {
          progress(phaseName);
          await holdIfAsked(`${this.holdPrefix}.${phaseName}`, beat, ctx.cancellationSignal);
          return phaseFn();
        },
        exclusive: async (exclusiveKey, exclusiveFn) => {
          const releaseKey = await this.acquire(exclusiveKey);
          try {
            return await exclusiveFn();
          } finally {
            releaseKey();
          }
        },
      }));
    } catch (err) {
      // A command killed by the step's cancellation fails with its own error: the step reports it as
      // cancelled, which is what it is (a workflow waiting for the cancel to complete sees a cancel).
      if (ctx.cancellationSignal.aborted && !(err instanceof CancelledFailure)) throw new CancelledFailure(`cancelled: ${String((err as Error)?.message ?? err)}`);
      throw err;
    } finally {
      clearInterval(ticker);
      release();
    }
  }

  private async acquire(key: string): Promise<() => void> {
    for (;;) {
      const earlier = this.running.get(key);
      if (!earlier) break;
      await earlier.catch(() => undefined);
    }
    let done!: () => void;
    this.running.set(key, new Promise<void>((resolve) => { done = resolve; }));
    return () => {
      this.running.delete(key);
      done();
    };
  }
}
