import { AsyncLocalStorage } from 'node:async_hooks';
import { execFile } from 'node:child_process';

/**
 * The host step a command runs for: its abort signal (Temporal cancelled the step, or its heartbeat
 * found it timed out) kills the command, so a second attempt never runs beside the first.
 */
export const stepContext = new AsyncLocalStorage<{ signal: AbortSignal }>();

/** Commands that run for long enough that a second attempt could start while they still write. */
const LONG_RUNNING = new Set(['mkfs.ext4', 'qemu-img', 'tar', 'cp']);

// Inside a host step, every command is killed when the step is cancelled, and the long ones also
// die with the agent (PR_SET_PDEATHSIG through util-linux's setpriv): a killed agent leaves no mkfs
// or qemu-img writing beside the attempt that replaces it. (An `ip` command lasts milliseconds.)
function command(file: string, args: string[]): [string, string[], AbortSignal | undefined] {
  const step = stepContext.getStore();
  if (!step) return [file, args, undefined];
  if (!LONG_RUNNING.has(file)) return [file, args, step.signal];
  return ['setpriv', ['--pdeathsig', 'KILL', '--', file, ...args], step.signal];
}

/** Runs a program with an argument array (never a shell string); rejects with its stderr. */
export function run(file: string, args: string[], timeoutMs = 60_000): Promise<string> {
  return exec(file, args, [], undefined, timeoutMs, args.length);
}

/** Like run, but an exit code in `okCodes` still answers stdout (fping exits 1 when some hosts are silent). */
export function runAllowing(file: string, args: string[], okCodes: number[], timeoutMs = 60_000): Promise<string> {
  return exec(file, args, okCodes, undefined, timeoutMs, 8);
}

/** Like runAllowing, with `input` on the program's stdin (`ip -batch -`: many commands for one process). */
export function runWithInput(file: string, args: string[], input: string, okCodes: number[] = [], timeoutMs = 60_000): Promise<string> {
  return exec(file, args, okCodes, input, timeoutMs, args.length);
}

/** `shown`: how many of the arguments a failure's message repeats (fping's list of addresses is long). */
function exec(file: string, args: string[], okCodes: number[], input: string | undefined, timeoutMs: number, shown: number): Promise<string> {
  const [exe, argv, signal] = command(file, args);
  return new Promise((resolve, reject) => {
    const child = execFile(exe, argv, { timeout: timeoutMs, maxBuffer: 16 * 1024 * 1024, signal }, (err, stdout, stderr) => {
      const code = (err as { code?: unknown } | null)?.code;
      if (!err || (typeof code === 'number' && okCodes.includes(code))) return resolve(String(stdout));
      const message = `${file} ${args.slice(0, shown).join(' ')}: ${String(stderr || err.message).trim()}`;
      reject(Object.assign(new Error(message), { stderr: String(stderr) }));
    });
    if (input === undefined) return;
    // A program that exits before reading all of it closes the pipe: its exit status says what happened.
    child.stdin?.on('error', () => undefined);
    child.stdin?.end(input);
  });
}
