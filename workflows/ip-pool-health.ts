import { patched, workflowInfo } from '@temporalio/workflow';
import { control, lookAtHost } from './activity-options';
import { LIFECYCLE_V2, runOperation } from './operation';
import { reasonOf } from './saga';
import type { ZoneFindings, ZoneToCheck, ZoneToProbe } from '../db/ip-health';
import { ipPoolHealth as legacyIpPoolHealth } from './legacy/ip-pool-health';

export interface IpPoolHealthInput { operationId?: string }

/**
 * From one live host in each zone, probe the zone's free (and quarantined) addresses; the findings
 * are recorded in the database and are this run's result in the Temporal UI. A zone without a live
 * host is reported unchecked, not waited on. Scheduled runs have no operation row; one asked for
 * through the API has.
 */
export async function ipPoolHealth(input: IpPoolHealthInput = {}): Promise<ZoneFindings[]> {
  if (!patched(LIFECYCLE_V2)) return legacyIpPoolHealth(input);
  if (!input.operationId) return check();
  return runOperation(input.operationId, {
    run: () => check(),
    recorded: (zones) => ({ zones }),
  });
}

/** Addresses travel as runs of consecutive ones: a /16 pool's list passed Temporal's 4 MB message limit. */
export const IP_HEALTH_RANGES = 'ip-health-ranges';

async function check(): Promise<ZoneFindings[]> {
  const { workflowId } = workflowInfo();
  const zones: (ZoneToProbe | (ZoneToCheck & { count: number }))[] = patched(IP_HEALTH_RANGES)
    ? await control.listZonesToProbe()
    : (await control.listZonesToCheck()).map((z) => ({ ...z, count: z.addresses.length }));
  return Promise.all(zones.map(async (z) => {
    const base = { zone: z.zone, hostId: z.hostId, probed: z.count };
    if (!z.hostId) return control.recordZoneFindings(workflowId, { ...base, probed: 0, checked: false, reason: 'no live host in the zone', answered: [] });
    if (z.count === 0) return control.recordZoneFindings(workflowId, { ...base, checked: true, answered: [] });
    try {
      const which = 'ranges' in z ? { ranges: z.ranges } : { addresses: z.addresses };
      const answered = await lookAtHost(z.hostId).probeAddresses({ bridge: z.bridge, subnet: z.subnet, ...which });
      return control.recordZoneFindings(workflowId, { ...base, checked: true, answered });
    } catch (err) {
      return control.recordZoneFindings(workflowId, { ...base, probed: 0, checked: false, reason: `probe failed: ${reasonOf(err)}`, answered: [] });
    }
  }));
}
