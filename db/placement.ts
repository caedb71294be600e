import type { Knex } from 'knex';
import type { Db } from './connection';
import { toHostRow, type HostRow } from './hosts';
import { cpuUsageOnHost, type InstanceRow } from './instances';
import { CapacityError } from '../lib/errors';
import { rankHosts, explainNoHost } from '../placement/rank';
import { chooseCpuset } from '../placement/cpuset';
import type { HostCandidate, PlacementRequest, Ratios } from '../placement/types';

export interface Claim { hostId: string; cpuset: number[] }

function candidate(h: HostRow, appCount: number, liveSeconds: number): HostCandidate {
  const physicalCpus = h.numa.nodes.reduce((n, node) => n + node.cpus.length, 0);
  const live = h.last_heartbeat_at !== null && Date.now() - new Date(h.last_heartbeat_at).getTime() <= liveSeconds * 1000;
  return {
    id: h.id, zoneId: h.zone_id, state: h.state, kinds: h.kinds, vcpus: h.vcpus, memoryMb: h.memory_mb, diskGb: h.disk_gb,
    usedVcpus: h.used_vcpus, usedMemoryMb: h.used_memory_mb, usedDiskGb: h.used_disk_gb, physicalCpus, live, appCount,
  };
}

const requestOf = (i: InstanceRow): PlacementRequest => ({
  zoneId: i.zone_id, kind: i.kind, vcpus: i.vcpus, memoryMb: i.memory_mb, diskGb: i.disk_gb,
  app: i.app, pinnedHostId: i.requested_host_id,
});

async function candidates(db: Db, instance: InstanceRow, liveSeconds: number): Promise<HostCandidate[]> {
  const hosts = (await db('hosts').where({ zone_id: instance.zone_id }).select('*')).map(toHostRow);
  const counts = new Map<string, number>();
  if (instance.app) {
    const rows = await db('instances').where({ zone_id: instance.zone_id, app: instance.app })
      .whereNotNull('host_id').whereNot({ id: instance.id }).groupBy('host_id').select('host_id').count('* as n');
    for (const r of rows) counts.set(String(r.host_id), Number(r.n));
  }
  return hosts.map((h) => candidate(h, counts.get(h.id) ?? 0, liveSeconds));
}

/**
 * Claims the best host for the instance: rank from a snapshot, then lock the chosen host row and
 * check again; if a concurrent claim took the room, try the next one. A retried activity finds the
 * instance already placed and returns that claim.
 */
export async function claimHost(knex: Knex, instanceId: string, ratios: Ratios, liveSeconds: number): Promise<Claim> {
  const first = await knex('instances').where({ id: instanceId }).first() as InstanceRow;
  if (first.host_id && first.cpuset) return { hostId: first.host_id, cpuset: first.cpuset };
  const ranking = rankHosts(await candidates(knex, first, liveSeconds), requestOf(first), ratios);
  for (const option of ranking.hosts) {
    const claim = await knex.transaction(async (trx) => {
      const instance = await trx('instances').where({ id: instanceId }).forUpdate().first() as InstanceRow;
      if (instance.host_id && instance.cpuset) return { hostId: instance.host_id, cpuset: instance.cpuset };
      const hostRow = await trx('hosts').where({ id: option.id }).forUpdate().first();
      const fresh = candidate(toHostRow(hostRow), option.appCount, liveSeconds);
      if (rankHosts([fresh], requestOf(instance), ratios).hosts.length === 0) return null;
      const cpuset = chooseCpuset(toHostRow(hostRow).numa.nodes, await cpuUsageOnHost(trx, option.id, instanceId), instance.vcpus);
      await trx('hosts').where({ id: option.id }).update({
        used_vcpus: trx.raw('used_vcpus + ?', [instance.vcpus]),
        used_memory_mb: trx.raw('used_memory_mb + ?', [instance.memory_mb]),
        used_disk_gb: trx.raw('used_disk_gb + ?', [instance.disk_gb]),
      });
      await trx('instances').where({ id: instanceId }).update({ host_id: option.id, cpuset, updated_at: trx.fn.now() });
      return { hostId: option.id, cpuset };
    });
    if (claim) return claim;
  }
  // Explain from what the hosts look like now: concurrent claims may have taken the room we saw.
  const now = await candidates(knex, first, liveSeconds);
  const { rejectedBy } = rankHosts(now, requestOf(first), ratios);
  throw new CapacityError(explainNoHost(now.length, rejectedBy), { rejectedBy });
}

/** Gives the host's capacity back; idempotent because the claim is cleared in the same transaction. */
export async function releaseHost(knex: Knex, instanceId: string): Promise<void> {
  await knex.transaction(async (trx) => {
    const instance = await trx('instances').where({ id: instanceId }).forUpdate().first() as InstanceRow | undefined;
    if (!instance?.host_id || !instance.cpuset) return;
    await trx('hosts').where({ id: instance.host_id }).update({
      used_vcpus: trx.raw('greatest(used_vcpus - ?, 0)', [instance.vcpus]),
      used_memory_mb: trx.raw('greatest(used_memory_mb - ?, 0)', [instance.memory_mb]),
      used_disk_gb: trx.raw('greatest(used_disk_gb - ?, 0)', [instance.disk_gb]),
    });
    await trx('instances').where({ id: instanceId }).update({ cpuset: null, updated_at: trx.fn.now() });
  });
}
