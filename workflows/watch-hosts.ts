import { ParentClosePolicy, startChild } from '@temporalio/workflow';
import { WorkflowExecutionAlreadyStartedError } from '@temporalio/common';
import { control } from './activity-options';
import { judgeHost } from './liveness';
import { evacuateHost } from './evacuate-host';

/**
 * Automatic failover, opt-in per zone (the Schedule `vcloud-host-watch`, every
 * VCLOUD_HOST_WATCH_SECONDS). A host of such a zone that is dead by the liveness rule (silent past
 * VCLOUD_DEAD_AFTER_SECONDS, its probe unanswered, the control plane healthy) and still holds
 * instances is evacuated by the platform itself, as an operation the operator can follow: the
 * evacuation fences it first (its fence command, or its watchdog has by then), then rebuilds its
 * instances elsewhere from their latest snapshots, with the same ids, addresses and MACs.
 */
export async function watchHosts(): Promise<{ failedOver: string[] }> {
  const failedOver: string[] = [];
  for (const hostId of await control.failoverCandidates()) {
    if ((await judgeHost(hostId)).verdict !== 'dead') continue;
    const opened = await control.openFailover(hostId);
    if (!opened) continue;
    try {
      await startChild(evacuateHost, { workflowId: opened.workflowId, args: [opened.input as never], parentClosePolicy: ParentClosePolicy.ABANDON });
    } catch (err) {
      // An older execution under this id: the reconciler starts this one from its operation row.
      if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
    }
    failedOver.push(hostId);
  }
  return { failedOver };
}
