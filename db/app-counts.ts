import type { Knex } from 'knex';
import type { Db } from './connection';

// The counts the database keeps for the app spread (migration 20261205000000_app_counts): read by
// placement (db/placement.ts), checked against the instances and hosts by the invariant checker.

/**
 * The least count of the app on any host of the zone, in any state, as a column `app_least` of a
 * ranking read: 0 unless every host of the zone has the app. Three key lookups.
 */
export function leastAppCount(db: Db, zoneId: string, app: string | null): Knex.Raw {
  if (!app) return db.raw('0 as app_least');
  return db.raw(`case when coalesce((select hosts from zone_app_counts where zone_id = ? and app = ?), 0)
      >= coalesce((select hosts from zone_host_counts where zone_id = ?), 0)
    then coalesce((select n from host_app_counts where zone_id = ? and app = ? order by n limit 1), 0) else 0 end as app_least`,
  [zoneId, app, zoneId, zoneId, app]);
}

/** The kept count of the app on one host (0 without a row): the number the ranking read joined, for the claims' re-checks. */
export const keptAppCount = (db: Db, hostId: string, app: string): Knex.Raw =>
  db.raw('coalesce((select n from host_app_counts where host_id = ? and app = ?), 0)', [hostId, app]);

/** The kept counts of the app on each host of the zone that has it. */
export async function appCountsInZone(db: Db, zoneId: string, app: string): Promise<Map<string, number>> {
  const rows: { host_id: string; n: number }[] = await db('host_app_counts').where({ zone_id: zoneId, app }).select('host_id', 'n');
  return new Map(rows.map((r) => [r.host_id, r.n]));
}

/** Every kept count that differs from what it counts, described; empty when all agree. */
export async function appCountDrift(db: Db): Promise<string[]> {
  const hosts = await db.raw(`
    select coalesce(c.host_id, i.host_id) as host_id, coalesce(c.app, i.app) as app, c.n as kept, i.n as actual
    from host_app_counts c full join (
      select host_id, app, count(*)::int as n from instances where app is not null and host_id is not null and cpuset is not null group by host_id, app
    ) i on i.host_id = c.host_id and i.app = c.app
    where c.n is distinct from i.n`);
  const zones = await db.raw(`
    select coalesce(z.zone_id, c.zone_id) as zone_id, coalesce(z.app, c.app) as app, z.hosts as kept, c.hosts as actual
    from zone_app_counts z full join (select zone_id, app, count(*)::int as hosts from host_app_counts group by zone_id, app) c
      on c.zone_id = z.zone_id and c.app = z.app
    where z.hosts is distinct from c.hosts`);
  const zoneHosts = await db.raw(`
    select coalesce(z.zone_id, h.zone_id) as zone_id, z.hosts as kept, h.hosts as actual
    from zone_host_counts z full join (select zone_id, count(*)::int as hosts from hosts group by zone_id) h on h.zone_id = z.zone_id
    where z.hosts is distinct from coalesce(h.hosts, 0)`);
  return [
    ...hosts.rows.map((r: any) => `host ${r.host_id} counts ${r.kept ?? 0} of app ${r.app}, it has ${r.actual ?? 0}`),
    ...zones.rows.map((r: any) => `zone ${r.zone_id} counts ${r.kept ?? 0} hosts with app ${r.app}, there are ${r.actual ?? 0}`),
    ...zoneHosts.rows.map((r: any) => `zone ${r.zone_id} counts ${r.kept ?? 0} hosts, it has ${r.actual ?? 0}`),
  ];
}
