// Frozen: the previous release's workflow, kept so its recorded histories replay (see ../index.ts).
import { workflowInfo } from '@temporalio/workflow';
import { control, ipHealth, probeActivities } from './activity-options';
import { reasonOf } from './saga';
import type { ZoneFindings } from '../../db/ip-health';

export interface IpPoolHealthInput { operationId?: string }

/**
 * From one live host in each zone, probe the zone's free (and quarantined) addresses; the findings
 * are recorded in the database and are this run's result in the Temporal UI. A zone without a live
 * host is reported unchecked, not waited on.
 */
export async function ipPoolHealth(input: IpPoolHealthInput = {}): Promise<ZoneFindings[]> {
  const { workflowId } = workflowInfo();
  const zones = await ipHealth.listZonesToCheck();
  const findings = await Promise.all(zones.map(async (z) => {
    const base = { zone: z.zone, hostId: z.hostId, probed: z.addresses.length };
    if (!z.hostId) return ipHealth.recordZoneFindings(workflowId, { ...base, probed: 0, checked: false, reason: 'no live host in the zone', answered: [] });
    if (z.addresses.length === 0) return ipHealth.recordZoneFindings(workflowId, { ...base, checked: true, answered: [] });
    try {
      const answered = await probeActivities(z.hostId).probeAddresses({ bridge: z.bridge, subnet: z.subnet, addresses: z.addresses });
      return ipHealth.recordZoneFindings(workflowId, { ...base, checked: true, answered });
    } catch (err) {
      return ipHealth.recordZoneFindings(workflowId, { ...base, probed: 0, checked: false, reason: `probe failed: ${reasonOf(err)}`, answered: [] });
    }
  }));
  if (input.operationId) await control.finishOperation(input.operationId, 'succeeded', undefined, { zones: findings });
  return findings;
}
