import { run } from '../../host/run';
import { projectRoot } from '../../lib/config';
import { HOST_A, HOST_B, TEST_API, TEST_ZONE } from './env';
import fs from 'node:fs';
import { partitionFile, startHostAgent, startWatchdog, waitUntil } from './global-setup';
import { isRunning, startProcess } from './processes';
import { apiClient, testDb } from './platform';
import { docker } from './hosts';
import { DELETABLE_STATES, HOLDING_STATES } from '../../lib/instance-states';

/**
 * After every test file (test/helpers/after-each-file.ts): the platform as the next file expects
 * it, whatever the last one did or where it failed: every process running, host B's engine up,
 * both hosts enabled and heartbeating, and no instance of the last file left (each deleted through
 * the API). Bounded; what it cannot fix, the next file's own checks will show.
 */
export async function restorePlatform(): Promise<void> {
  if (!(await docker(HOST_B, 'info').then(() => true, () => false))) {
    await run('bash', ['-c', `source ${projectRoot}/scripts/lib.sh && start_host_b_services`], 120_000);
  }
  for (const h of [HOST_A, HOST_B]) fs.rmSync(partitionFile(h), { force: true });
  if (!isRunning('api')) startProcess('api', 'api');
  if (!isRunning('control-worker')) startProcess('control-worker', 'control-worker');
  for (const h of [HOST_A, HOST_B]) {
    if (!isRunning(h.id)) startHostAgent(h);
    if (!isRunning(`${h.id}-watchdog`)) startWatchdog(h);
  }
  await waitUntil('the API', async () => (await fetch(`${TEST_API}/healthz`)).ok, 60_000);
  const db = testDb();
  try {
    await waitUntil('both hosts to heartbeat', async () =>
      (await db('hosts').whereIn('id', [HOST_A.id, HOST_B.id]).whereRaw("last_heartbeat_at > now() - interval '10 seconds'")).length === 2, 60_000);
    // A failover test turns automatic failover on, gives a host a fence command, partitions an agent: undone.
    await db('hosts').whereIn('id', [HOST_A.id, HOST_B.id]).update({ state: 'enabled', fence_command: null });
    await db('zones').where({ id: TEST_ZONE.id }).update({ auto_failover: false });
    const api = apiClient();
    // What the API can delete (files that write rows directly leave other states, on fake hosts).
    const left = await db('instances').whereIn('state', [...DELETABLE_STATES, 'repairing']).pluck('id');
    for (const id of left) await api.del(`/v1/instances/${id}`).catch(() => undefined);
    await waitUntil('the last file\'s instances to be deleted', async () =>
      (await db('instances').whereIn('id', left).whereIn('state', HOLDING_STATES)).length === 0, 120_000).catch(() => undefined);
  } finally {
    await db.destroy();
  }
}
