import type { Knex } from 'knex';
import { createInstanceActivities, type ControlDeps } from './instance-activities';
import { createCreateActivities } from './create-activities';
import { createMigrationActivities } from './migration-activities';
import { createImageControlActivities } from './image-activities';
import { createIpHealthActivities } from './ip-health-activities';
import { createRepairActivities } from './repair-activities';
import { createReconcileActivities, type ReconcileDeps } from './reconcile-activities';
import { createFailoverActivities, type FailoverDeps } from './failover-activities';
import { createStorageGcActivities, type StorageGcDeps } from './storage-gc-activities';
import { createBatchActivities } from './batch-activities';
import { createResizeActivities } from './resize-activities';
import { evaluateInvariants, type HostView } from '../../db/invariants';

export interface AllControlDeps extends ControlDeps, Omit<ReconcileDeps, 'db'>, Omit<FailoverDeps, 'db' | 'hostLiveSeconds'>,
  Omit<StorageGcDeps, 'db' | 'imageStoreDir'> { ipHealthReleaseAfter: number }

/** Every activity the control worker serves; workflows call them through ../../workflows/activity-options `control`. */
export function createControlActivities(deps: AllControlDeps) {
  const { db } = deps;
  return {
    ...createInstanceActivities(deps),
    ...createCreateActivities(deps),
    ...createMigrationActivities(deps),
    ...createImageControlActivities({ db, registry: deps.registry, hostLiveSeconds: deps.hostLiveSeconds }),
    ...createIpHealthActivities({ db, hostLiveSeconds: deps.hostLiveSeconds, releaseAfter: deps.ipHealthReleaseAfter }),
    ...createRepairActivities({ db }),
    ...createReconcileActivities(deps),
    ...createFailoverActivities(deps),
    ...createStorageGcActivities(deps),
    ...createBatchActivities({ db }),
    ...createResizeActivities({ db }),
    async evaluateInvariants(hosts: HostView[], settled: boolean) {
      return evaluateInvariants(db as Knex, hosts, settled);
    },
  };
}
export type ControlActivities = ReturnType<typeof createControlActivities>;
