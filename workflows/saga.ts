import { log } from '@temporalio/workflow';

/**
 * The compensation stack. A step registers its undo before it runs, so a step that failed half
 * way is undone too; every undo is an idempotent activity. Undo runs in reverse order and stops at
 * the first undo that fails: each earlier undo assumes the later ones are done (an address is only
 * freed once the copy that used it is destroyed), so what a stuck undo guards stays held and the
 * operation's settle step hands it to a repair.
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

  /** Runs the undos; returns the one that failed (its own and the earlier ones did not happen), or null. */
  async compensate(): Promise<{ step: string; reason: string } | null> {
    while (this.undo.length > 0) {
      const step = this.undo[this.undo.length - 1];
      try {
        await step.fn();
      } catch (err) {
        log.error('compensation failed', { step: step.name, error: reasonOf(err) });
        return { step: step.name, reason: reasonOf(err) };
      }
      this.undo.pop();
    }
    return null;
  }
}

/** The innermost message of a Temporal failure chain: what the user needs to read. */
export function reasonOf(err: unknown): string {
  let e = err as { message?: string; cause?: unknown } | undefined;
  let message = String(e?.message ?? err);
  while (e?.cause) {
    e = e.cause as { message?: string; cause?: unknown };
    if (e?.message) message = e.message;
  }
  return message;
}
