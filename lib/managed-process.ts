import fs from 'node:fs';
import { spawn } from 'node:child_process';

/**
 * A process the project's scripts started, known by its pid file (`.data/pids/<name>.pid`): stopped
 * by that pid only, and started again exactly as it was (its executable, arguments and environment,
 * read from /proc before it stops). For the fault tests and bench/chaos.
 */
export async function stopByPidFile(pidFile: string, signal: NodeJS.Signals, timeoutMs = 60_000): Promise<(logFile: string) => number> {
  const pid = Number(fs.readFileSync(pidFile, 'utf8'));
  if (!Number.isInteger(pid) || pid <= 1) throw new Error(`${pidFile} holds no pid`);
  // The executable by its path: argv[0] may be a bare name found on another PATH.
  const exe = fs.readlinkSync(`/proc/${pid}/exe`);
  const args = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean).slice(1);
  const env = Object.fromEntries(fs.readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0').filter(Boolean)
    .map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]));
  process.kill(pid, signal);
  for (const deadline = Date.now() + timeoutMs; ;) {
    try { process.kill(pid, 0); } catch { break; }
    if (Date.now() > deadline) throw new Error(`pid ${pid} (${exe}) did not stop`);
    await new Promise((r) => setTimeout(r, 100));
  }
  return (logFile: string) => {
    const out = fs.openSync(logFile, 'a');
    const child = spawn(exe, args, { env, detached: true, stdio: ['ignore', out, out] });
    child.unref();
    fs.closeSync(out);
    if (!child.pid) throw new Error(`could not start ${exe} again`);
    fs.writeFileSync(pidFile, String(child.pid));
    return child.pid;
  };
}
