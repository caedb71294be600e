import fs from 'node:fs';
import path from 'node:path';
import { projectRoot } from '../../lib/config';
import { run } from '../../host/run';
import { DATA, TEMPORAL_ADDRESS, TEST_CONTROL_QUEUE, TEST_HOLDS } from './env';
import { temporalClient, waitUntil } from './platform';
import { docker } from './hosts';
import { checkInvariants } from '../../workflows';
import { stopByPidFile } from '../../lib/managed-process';
import type { InvariantReport } from '../../db/invariants';

/** The `temporal` CLI: the same server calls the Temporal UI's buttons make. */
export function temporalCli(...args: string[]): Promise<string> {
  const local = path.join(projectRoot, '.tools', 'bin', 'temporal');
  return run(fs.existsSync(local) ? local : 'temporal', [...args, '--address', TEMPORAL_ADDRESS], 60_000);
}

/** Stops a process at a named step (lib/test-holds.ts): `host-test-a.createInstance`, `control.placeInstance`, `api.after-commit.create`. */
export const holds = {
  set(name: string): void {
    fs.writeFileSync(path.join(TEST_HOLDS, name), '');
  },
  async reached(name: string, timeoutMs = 90_000): Promise<number> {
    const file = path.join(TEST_HOLDS, `${name}.reached`);
    await waitUntil(`the step ${name} to be reached`, async () => fs.existsSync(file), timeoutMs);
    return Number(fs.readFileSync(file, 'utf8'));
  },
  release(name: string): void {
    fs.rmSync(path.join(TEST_HOLDS, name), { force: true });
    fs.rmSync(path.join(TEST_HOLDS, `${name}.reached`), { force: true });
  },
};

/** The operators' invariant checker, on the test platform. */
export async function invariants(settled = true): Promise<InvariantReport> {
  const t = await temporalClient();
  try {
    return await t.client.workflow.execute(checkInvariants, {
      taskQueue: TEST_CONTROL_QUEUE, workflowId: `check-invariants-${Date.now()}-${Math.random()}`, args: [{ settled }],
    });
  } finally {
    await t.close();
  }
}

/** Waits until nothing runs and every invariant holds (repairs and the reconciler included). */
export async function expectSettled(timeoutMs = 120_000): Promise<void> {
  let last: InvariantReport | undefined;
  await waitUntil('every invariant to hold with nothing running', async () => {
    last = await invariants(true);
    return last.ok;
  }, timeoutMs).catch((err) => {
    throw new Error(`${String(err)}: ${JSON.stringify(last?.violations, null, 1)}`);
  });
}

/** Host B's Docker engine, stopped by its pid file and started again the same way. */
export const engineB = {
  async stop(): Promise<(logFile: string) => number> {
    return stopByPidFile(`${DATA}/pids/dockerd-b.pid`, 'SIGTERM');
  },
  async start(relaunch: (logFile: string) => number, host: { id: string; dockerSocket: string; libvirtUri: string }): Promise<void> {
    relaunch(`${DATA}/logs/dockerd-b.log`);
    await waitUntil("host B's engine", () => docker(host, 'info').then(() => true), 60_000);
  },
};
