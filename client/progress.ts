import type { components } from './schema';

type Operation = components['schemas']['Operation'];

/**
 * What an operation's progress says, for whoever shows it (the CLI's spinner or bar, the console's card):
 * its current step, a resize's plan, and a count for one that has one (an evacuation, a batch).
 */
export function progressOf(op: Operation): { step: string | null; plan: string | null; count: { total: number; done: number } | null } {
  const p = typeof op.progress === 'object' && op.progress !== null ? (op.progress as Record<string, unknown>) : {};
  return {
    step: typeof p.step === 'string' ? p.step : null,
    plan: typeof p.plan === 'string' ? p.plan : null,
    count: typeof p.total === 'number' && typeof p.remaining === 'number' ? { total: p.total, done: p.total - p.remaining } : null,
  };
}
