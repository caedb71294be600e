import { execFile } from 'node:child_process';

/** Runs a program with an argument array (never a shell string); rejects with its stderr. */
export function run(file: string, args: string[], timeoutMs = 60_000): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(file, args, { timeout: timeoutMs, maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) => {
      if (err) {
        const message = `${file} ${args.join(' ')}: ${String(stderr || err.message).trim()}`;
        reject(Object.assign(new Error(message), { stderr: String(stderr) }));
      } else resolve(String(stdout));
    });
  });
}

/** Like run, but an exit code in `okCodes` still answers stdout (fping exits 1 when some hosts are silent). */
export function runAllowing(file: string, args: string[], okCodes: number[], timeoutMs = 60_000): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(file, args, { timeout: timeoutMs, maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) => {
      const code = (err as { code?: unknown } | null)?.code;
      if (!err || (typeof code === 'number' && okCodes.includes(code))) resolve(String(stdout));
      else reject(new Error(`${file} ${args.slice(0, 8).join(' ')}: ${String(stderr || err.message).trim()}`));
    });
  });
}
