import { CancellationScope, proxyActivities, sleep, workflowInfo } from '@temporalio/workflow';
import { control } from './activity-options';
import { runOperation } from './operation';
import type { StorageGcActivities, RegistryCollection, StoreSweep } from '../activities/control/storage-gc-activities';

export interface StorageGcInput { operationId?: string }
export interface StorageGcResult { registry: RegistryCollection; store: StoreSweep }

// Long steps: the registry's own collection walks all of its storage. It heartbeats; a worker that
// died mid-way is noticed within the heartbeat timeout and the step runs again (it is idempotent).
const gc = proxyActivities<StorageGcActivities>({
  startToCloseTimeout: '15 minutes',
  heartbeatTimeout: '30 seconds',
  retry: { initialInterval: '5 seconds', maximumInterval: '1 minute', maximumAttempts: 5 },
});

/** How long a collection waits for pushes to end before it gives up on the registry for this run. */
const WAITS = 30;

/**
 * The storage garbage collection: the registry's blobs no manifest names (deleted snapshots and
 * images gave back their manifests), then the image store's files no image or snapshot names.
 * Pushes and the collection exclude each other through one database row (db/registry-maintenance).
 * Scheduled runs have no operation row; one an admin asks for through the API has.
 */
export async function storageGc(input: StorageGcInput = {}): Promise<StorageGcResult> {
  if (!input.operationId) return collect();
  return runOperation(input.operationId, { run: () => collect() });
}

async function collect(): Promise<StorageGcResult> {
  const { workflowId } = workflowInfo();
  let begun = await control.beginRegistryGc(workflowId);
  for (let i = 0; !begun.started && begun.reason?.includes('running') && i < WAITS; i++) {
    await sleep('10 seconds');
    begun = await control.beginRegistryGc(workflowId);
  }
  let registry: RegistryCollection = { collected: false, reason: begun.reason };
  if (begun.started) {
    try {
      registry = await gc.collectRegistry();
    } finally {
      // Given back whatever happened, so pushes wait no longer than they must (the lease ends it otherwise).
      await CancellationScope.nonCancellable(() => control.endRegistryGc(workflowId));
    }
  }
  const store = await gc.sweepImageStore();
  return { registry, store };
}
