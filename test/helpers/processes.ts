import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { projectRoot } from '../../lib/config';
import { STATE_FILE, TEST_LOGS, processEnv } from './env';

// The platform's processes under test, started from dist/ and remembered by pid in a state
// file so that teardown (and a test that kills one) ends exactly what the tests started.

export type ProcessName = 'api' | 'control-worker' | 'host-a' | string;
const scripts: Record<string, string> = {
  api: 'dist/api/server.js',
  'control-worker': 'dist/workers/control-worker.js',
  host: 'dist/workers/host-worker.js',
  watchdog: 'dist/workers/fence-watchdog.js',
};

function readState(): Record<string, number> {
  try { return JSON.parse(fs.readFileSync(STATE_FILE, 'utf8')); } catch { return {}; }
}
function writeState(state: Record<string, number>): void {
  fs.writeFileSync(STATE_FILE, JSON.stringify(state, null, 2));
}

export function startProcess(name: ProcessName, script: keyof typeof scripts, extraEnv: Record<string, string> = {}): number {
  fs.mkdirSync(TEST_LOGS, { recursive: true });
  const out = fs.openSync(path.join(TEST_LOGS, `${name}.log`), 'a');
  const child = spawn(process.execPath, [path.join(projectRoot, scripts[script])], {
    env: processEnv(extraEnv), stdio: ['ignore', out, out], detached: true,
  });
  child.unref();
  fs.closeSync(out);
  writeState({ ...readState(), [name]: child.pid! });
  return child.pid!;
}

const alive = (pid: number) => { try { process.kill(pid, 0); return true; } catch { return false; } };
/** A pid from the state file is ours only if it still runs one of our scripts (pids get reused). */
const ours = (pid: number) => {
  try { return fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(path.join(projectRoot, 'dist')); } catch { return false; }
};

export async function stopProcess(name: ProcessName, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
  const state = readState();
  const pid = state[name];
  if (!pid) return;
  if (alive(pid) && ours(pid)) {
    process.kill(pid, signal);
    for (let i = 0; i < 100 && alive(pid); i++) await new Promise((r) => setTimeout(r, 100));
    if (alive(pid)) process.kill(pid, 'SIGKILL');
  }
  // Read again: another process may have been started meanwhile.
  const now = readState();
  delete now[name];
  writeState(now);
}

/** The process the tests started under `name` is still running. */
export function isRunning(name: ProcessName): boolean {
  const pid = readState()[name];
  return Boolean(pid) && alive(pid) && ours(pid);
}

export async function stopAll(): Promise<void> {
  for (const name of Object.keys(readState()).reverse()) await stopProcess(name);
}
