import type { Knex } from 'knex';
import { recordFindings, zonesToCheck, zonesToProbe, type ZoneFindings, type ZoneToCheck, type ZoneToProbe } from '../../db/ip-health';

export interface IpHealthDeps { db: Knex; hostLiveSeconds: number; releaseAfter: number }

export function createIpHealthActivities({ db, hostLiveSeconds, releaseAfter }: IpHealthDeps) {
  return {
    async listZonesToCheck(): Promise<ZoneToCheck[]> {
      return zonesToCheck(db, hostLiveSeconds);
    },
    async listZonesToProbe(): Promise<ZoneToProbe[]> {
      return zonesToProbe(db, hostLiveSeconds);
    },
    async recordZoneFindings(workflowId: string, findings: Omit<ZoneFindings, 'quarantined' | 'released'>): Promise<ZoneFindings> {
      return recordFindings(db, workflowId, findings, releaseAfter);
    },
  };
}
export type IpHealthActivities = ReturnType<typeof createIpHealthActivities>;
