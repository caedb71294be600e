import type { Knex } from 'knex';
import type { Db } from './connection';
import { keysetPage, type PageRequest } from './page';
import { liveSince } from './host-liveness';
import { toRanges, type AddressRange } from '../lib/net';

export interface ZoneToCheck { zone: string; bridge: string; subnet: string; hostId: string | null; addresses: string[] }
export interface ZoneFindings {
  zone: string; hostId: string | null; checked: boolean; reason?: string; probed: number;
  answered: string[]; quarantined: string[]; released: string[];
}

/** Each zone, the host most recently heard from within `liveSeconds` (if any), and the addresses to probe. */
export async function zonesToCheck(db: Db, liveSeconds: number): Promise<ZoneToCheck[]> {
  const zones = await db('zones').orderBy('id').select('id', 'bridge', 'subnet');
  return Promise.all(zones.map(async (z) => {
    const host = await db('hosts').where({ zone_id: z.id }).whereIn('state', ['enabled', 'draining'])
      .where(liveSince(liveSeconds))
      .orderBy('last_heartbeat_at', 'desc').first('id');
    const addresses = await db('ip_addresses').where({ zone_id: z.id }).whereIn('state', ['free', 'quarantined'])
      .orderBy('sort_key').pluck('address');
    return { zone: z.id, bridge: z.bridge, subnet: z.subnet, hostId: host?.id ?? null, addresses };
  }));
}

/** The same, each zone's addresses as runs: a /16 pool's list would pass Temporal's 4 MB message limit. */
export interface ZoneToProbe extends Omit<ZoneToCheck, 'addresses'> { ranges: AddressRange[]; count: number }
export async function zonesToProbe(db: Db, liveSeconds: number): Promise<ZoneToProbe[]> {
  return (await zonesToCheck(db, liveSeconds)).map(({ addresses, ...z }) => ({ ...z, ranges: toRanges(addresses), count: addresses.length }));
}

/**
 * Applies one zone's probe: a free address that answered is quarantined; a quarantined one that
 * stayed silent for `releaseAfter` checks in a row is free again. Recorded once per run and zone,
 * so a retried activity changes nothing twice.
 */
export async function recordFindings(knex: Knex, workflowId: string, f: Omit<ZoneFindings, 'quarantined' | 'released'>, releaseAfter: number): Promise<ZoneFindings> {
  return knex.transaction(async (trx) => {
    const done = await trx('ip_health_runs').where({ workflow_id: workflowId, zone_id: f.zone }).first();
    if (done) return findingsOf(done);
    let quarantined: string[] = [];
    let released: string[] = [];
    if (f.checked) {
      const answered = new Set(f.answered);
      quarantined = await trx('ip_addresses').where({ zone_id: f.zone, state: 'free' }).whereIn('address', [...answered])
        .update({ state: 'quarantined', silent_checks: 0, last_probe_at: trx.fn.now(), last_probe_answered: true }).returning('address')
        .then((rows) => rows.map((r) => r.address));
      await trx('ip_addresses').where({ zone_id: f.zone, state: 'quarantined' }).whereIn('address', [...answered])
        .update({ silent_checks: 0, last_probe_at: trx.fn.now(), last_probe_answered: true });
      await trx('ip_addresses').where({ zone_id: f.zone, state: 'quarantined' }).whereNotIn('address', [...answered])
        .update({ silent_checks: trx.raw('silent_checks + 1'), last_probe_at: trx.fn.now(), last_probe_answered: false });
      released = await trx('ip_addresses').where({ zone_id: f.zone, state: 'quarantined' }).where('silent_checks', '>=', releaseAfter)
        .update({ state: 'free', silent_checks: 0 }).returning('address').then((rows) => rows.map((r) => r.address));
      await trx('ip_addresses').where({ zone_id: f.zone, state: 'free' }).whereNotIn('address', [...answered])
        .update({ last_probe_at: trx.fn.now(), last_probe_answered: false });
    }
    const [row] = await trx('ip_health_runs').insert({
      workflow_id: workflowId, zone_id: f.zone, host_id: f.hostId, checked: f.checked, reason: f.reason ?? null,
      probed: f.probed, answered: f.answered, quarantined, released,
    }).returning('*');
    return findingsOf(row);
  });
}

function findingsOf(r: Record<string, any>): ZoneFindings {
  return {
    zone: r.zone_id, hostId: r.host_id, checked: r.checked, reason: r.reason ?? undefined, probed: r.probed,
    answered: r.answered, quarantined: r.quarantined, released: r.released,
  };
}

/** Newest first. */
export async function listHealthRuns(db: Db, zoneId: string | undefined, page: PageRequest) {
  const q = db('ip_health_runs').select('*');
  if (zoneId) q.where({ zone_id: zoneId });
  return keysetPage(q, { columns: ['created_at', 'id'], desc: true }, page, (r: Record<string, any>) => ({ ...findingsOf(r), workflowId: r.workflow_id, at: r.created_at }));
}
