import { ParentClosePolicy, executeChild, patched, startChild } from '@temporalio/workflow';
import { WorkflowExecutionAlreadyStartedError } from '@temporalio/common';
import { control, isInfrastructureFailure, lookAtHost, onHost, tidyOnHost } from './activity-options';
import { repairInstance } from './repair-instance';
import { reasonOf } from './saga';
import { forEachBounded } from './bounded';
import type { HostPlan, OperationReview } from '../activities/control/reconcile-activities';

export interface ReconcileReport {
  operations: OperationReview;
  hosts: (HostPlan & { destroyed: string[]; interrupted?: string } | { hostId: string; skipped: string })[];
  repairsStarted: string[];
  usageCorrected: { hostId: string }[];
}

/** How many hosts are looked at at once. */
const HOST_CONCURRENCY = 8;

/**
 * The reconciler, run by the `vcloud-reconcile` Schedule and when an agent starts. No code of an
 * operation runs when an operator terminates its workflow; this is what notices, and what keeps the
 * inventory equal to the engines:
 * 1. running operations whose workflow is closed are closed and what they held is repaired; ones
 *    whose workflow was never started (the API died in between) are started;
 * 2. each live host's engines are compared with the database (reconcileHost);
 * 3. every repairing instance without a running operation gets a repair;
 * 4. the hosts' used capacity is recomputed from the instances.
 */
export async function reconcile(): Promise<ReconcileReport> {
  const operations = await control.reviewOperations();

  const hostIds = await control.hostsToReconcile();
  const hosts: ReconcileReport['hosts'] = [];
  await forEachBounded(hostIds, HOST_CONCURRENCY, async (hostId) => {
    try {
      hosts.push(await executeChild(reconcileHost, { workflowId: `host-${hostId}-reconcile`, args: [hostId] }));
    } catch (err) {
      hosts.push({ hostId, skipped: err instanceof WorkflowExecutionAlreadyStartedError ? 'a reconcile of it is running' : reasonOf(err) });
    }
  });

  const repairsStarted: string[] = [];
  for (const r of await control.openRepairs()) {
    try {
      await startChild(repairInstance, { workflowId: r.workflowId, args: r.args, parentClosePolicy: ParentClosePolicy.ABANDON });
      repairsStarted.push(r.workflowId);
    } catch (err) {
      // Started already (an earlier reconcile got this far); anything else, the next round retries.
      if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
    }
  }
  const usageCorrected = await control.recomputeUsage();
  return { operations, hosts, repairsStarted, usageCorrected };
}

/** One host: its inventory (skipped if its agent does not answer soon), the plan, the leftovers destroyed. */
export async function reconcileHost(hostId: string): Promise<HostPlan & { destroyed: string[]; interrupted?: string }> {
  const askedAt = Date.now();
  const inventory = await lookAtHost(hostId).inventory(false);
  const plan = await control.planHost(hostId, inventory, askedAt);
  const destroyed: string[] = [];
  const tidy = patched(TIDY_SKIPS_A_DEAD_HOST);
  for (const leftover of plan.destroy) {
    if (!(await control.confirmLeftover(hostId, leftover.instanceId))) continue;
    if (!tidy) {
      await onHost(hostId).destroyInstance({ instanceId: leftover.instanceId, kind: leftover.kind });
    } else {
      try {
        await tidyOnHost(hostId).destroyInstance({ instanceId: leftover.instanceId, kind: leftover.kind });
      } catch (err) {
        // The host stopped answering (it died during this round): its other leftovers wait for the next one.
        if (!isInfrastructureFailure(err)) throw err;
        return { ...plan, destroyed, interrupted: reasonOf(err) };
      }
    }
    await control.leftoverDestroyed(hostId, leftover);
    destroyed.push(leftover.instanceId);
  }
  return { ...plan, destroyed };
}

/**
 * A host that dies while a round destroys its leftovers no longer holds the round up (and with it
 * the repairs it starts): each destroy waits on the host briefly, and a failure ends that host's part.
 */
export const TIDY_SKIPS_A_DEAD_HOST = 'reconcile-tidy-skips-a-dead-host';
