import { control } from './activity-options';
import type { OpRef } from '../db/operations';

/**
 * Progress writes for a workflow whose steps run side by side (an evacuation's moves, a batch's members):
 * their activities may land in any order, so each write carries a stamp that grows with workflow time
 * (a reset run's stamps are later still) and the database keeps the newest. Deterministic: workflow time.
 */
export function progressRecorder(op: OpRef): (progress: unknown) => Promise<void> {
  let last = 0;
  return (progress) => {
    last = Math.max(Date.now() * 1000, last + 1);
    return control.recordProgress(op, progress, last);
  };
}
