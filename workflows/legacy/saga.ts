// Frozen: the previous release's workflow, kept so its recorded histories replay (see ../index.ts).
import { log } from '@temporalio/workflow';

/**
 * The compensation stack. A step registers its undo before it runs, so a step that failed half
 * way is undone too; every undo is an idempotent activity. Undo runs in reverse order and keeps
 * going past a failed undo, so one stuck host does not leak the address or the quota.
 */
export class Saga {
  private readonly undo: { name: string; fn: () => Promise<unknown> }[] = [];

  add(name: string, fn: () => Promise<unknown>): void {
    this.undo.push({ name, fn });
  }

  /** Past the point of no return (a committed move): nothing before it may be undone any more. */
  clear(): void {
    this.undo.length = 0;
  }

  async compensate(): Promise<string[]> {
    const failed: string[] = [];
    for (const step of [...this.undo].reverse()) {
      try {
        await step.fn();
      } catch (err) {
        log.error('compensation failed', { step: step.name, error: String(err) });
        failed.push(step.name);
      }
    }
    this.undo.length = 0;
    return failed;
  }
}

export { reasonOf } from '../saga';
