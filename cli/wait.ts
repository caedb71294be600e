import { ok, type Schemas, type VcloudClient } from '../client';
import { progressOf } from '../client/progress';

/** An operation as the API answers it (the generated schema). */
export type Operation = Schemas['Operation'];

/** A spinner's line: the operation, its state and its step (or a resize's plan). */
const stepOf = (op: Operation): string => {
  const { step, plan } = progressOf(op);
  const shown = step ?? (plan ? `plan ${plan}` : '');
  return `${op.type} ${op.state}${shown ? ` (${shown})` : ''}`;
};

/**
 * Follows an operation to its end, at most `timeoutMs`: on a terminal a spinner (ora) or a bar
 * (cli-progress), otherwise one plain line per change. Answers the operation as it ended.
 */
export async function waitFor(api: VcloudClient, first: Operation, opts: { timeoutMs: number; tty: boolean; log: (line: string) => void }): Promise<Operation> {
  const deadline = Date.now() + opts.timeoutMs;
  if (first.temporalUiUrl) opts.log(`workflow ${first.workflowId}: ${first.temporalUiUrl}`);
  let op = first;
  let last = '';
  const ora = opts.tty ? (await import('ora')).default : null;
  const { SingleBar, Presets } = opts.tty ? await import('cli-progress') : { SingleBar: null, Presets: null };
  const spinner = ora?.({ text: stepOf(op), stream: process.stderr }).start();
  let bar: InstanceType<NonNullable<typeof SingleBar>> | null = null;
  try {
    for (;;) {
      // An operation with a count (an evacuation, a batch) gets a bar; otherwise a spinner with its step.
      const { count } = progressOf(op);
      if (count && SingleBar && Presets) {
        if (!bar) {
          spinner?.stop();
          bar = new SingleBar({ format: `${op.type} [{bar}] {value}/{total}`, stream: process.stderr }, Presets.shades_classic);
          bar.start(count.total, count.done);
        } else bar.update(count.done);
      } else if (spinner) {
        spinner.text = stepOf(op);
      } else if (stepOf(op) + JSON.stringify(count) !== last) {
        last = stepOf(op) + JSON.stringify(count);
        opts.log(count ? `${stepOf(op)}: ${count.done}/${count.total}` : stepOf(op));
      }
      if (op.state !== 'running') break;
      if (Date.now() > deadline) throw new Error(`operation ${op.id} still runs after ${Math.round(opts.timeoutMs / 1000)} s (it goes on; follow it with \`vcloud operation ${op.id} --wait\`)`);
      await new Promise((r) => setTimeout(r, 500));
      op = ok(await api.GET('/v1/operations/{id}', { params: { path: { id: op.id } } }));
    }
  } finally {
    bar?.stop();
    if (spinner) {
      if (op.state === 'succeeded') spinner.succeed(stepOf(op));
      else if (op.state === 'running') spinner.stop();
      else spinner.fail(`${stepOf(op)}${op.error ? `: ${op.error}` : ''}`);
    }
  }
  if (!opts.tty) opts.log(`${stepOf(op)}${op.error ? `: ${op.error}` : ''}`);
  return op;
}
