import type { Knex } from 'knex';
import type { Db } from './connection';
import { liveSince } from './host-liveness';
import { toHostRow, type HostRow } from './hosts';
import { CPU_USAGE_OF_H, countCpus, cpuUsageOnHost, type InstanceRow } from './instances';
import { clearStaleCopy } from './snapshots';
import { appCountsInZone, keptAppCount, leastAppCount } from './app-counts';
import { CapacityError } from '../lib/errors';
import { rankHosts, explainNoHost } from '../placement/rank';
import { chooseCpuset } from '../placement/cpuset';
import type { HostCandidate, PlacementRequest, Ratios } from '../placement/types';

/** Why no host fits, for admins; a user is told only that the zone has no room (host counts are not theirs to see). */
const noRoom = (rejectedBy: Record<string, number>) => ({ rejectedBy, publicDetail: 'no host in the zone can take this instance now', adminOnly: ['rejectedBy'] });

export interface Claim { hostId: string; cpuset: number[] }

type Sized = { vcpus: number; memory_mb: number; disk_gb: number; resize_to?: { vcpus: number; memoryMb: number; diskGb: number } | null };
/** The size a target claim holds: the size a resize that moves the instance goes to, else the instance's own. */
export const targetClaimSize = (i: Sized) =>
  (i.resize_to ? { vcpus: i.resize_to.vcpus, memory_mb: i.resize_to.memoryMb, disk_gb: i.resize_to.diskGb } : { vcpus: i.vcpus, memory_mb: i.memory_mb, disk_gb: i.disk_gb });

function candidate(h: HostRow, appCount: number, liveSeconds: number): HostCandidate {
  // hosts.vcpus is the machine's CPU count (the agent reads it with the NUMA topology);
  // the allocation ratio, not the column, is what overcommits.
  const physicalCpus = h.vcpus;
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

/** Every host of the zone with its count of the app's instances: the slow, complete view. */
async function candidates(db: Db, instance: InstanceRow, liveSeconds: number): Promise<HostCandidate[]> {
  const hosts = (await db('hosts').where({ zone_id: instance.zone_id }).select('*')).map(toHostRow);
  const counts = instance.app ? await appCountsInZone(db, instance.zone_id, instance.app) : new Map<string, number>();
  return hosts.map((h) => candidate(h, counts.get(h.id) ?? 0, liveSeconds));
}

export const TOP_CANDIDATES = 64;
/**
 * A claim's ranking: enough hosts to fall back on when concurrent claims fill the first ones (a
 * batch of 20 spreads over them), few enough that the read walks 64 hosts, not 256. A claim that
 * finds all of them full ranks again.
 */
const CLAIM_CANDIDATES = 16;
/** How many times `limit` hosts the ranking walks in index order before it may look at the whole zone. */
const WALK = 4;

/**
 * The same filters and weights as placement/filters.ts and placement/weighers.ts, in SQL, so a
 * zone of 10,000 hosts returns its best few rows instead of all of them. The pure rankHosts then
 * orders these; a test checks that both agree over a varied zone.
 */
export async function topCandidates(db: Db, instance: InstanceRow, ratios: Ratios, liveSeconds: number, limit = TOP_CANDIDATES, excludeHostId: string | null = null): Promise<HostCandidate[]> {
  return (await rankRead(db, instance, ratios, liveSeconds, limit, excludeHostId, false)).candidates;
}

/** What a candidate is made of (candidate()); the NUMA nodes are read for the first host only (claimAtOnce). */
const RANK_COLUMNS = ['id', 'zone_id', 'state', 'kinds', 'vcpus', 'memory_mb', 'disk_gb', 'used_vcpus', 'used_memory_mb', 'used_disk_gb', 'last_heartbeat_at'];

/** What the ranking read saw of its first host, for a claim at once (claimAtOnce): its NUMA nodes and the CPUs its claims pin. */
interface TopSeen { id: string; numa: HostRow['numa']; usage: Map<number, number>; used: { vcpus: number; memoryMb: number; diskGb: number }; appCount: number }

async function rankRead(db: Db, instance: InstanceRow, ratios: Ratios, liveSeconds: number, limit: number, excludeHostId: string | null, withUsage: boolean): Promise<{ candidates: HostCandidate[]; top: TopSeen | null }> {
  const fitting = (q: Knex.QueryBuilder) => {
    whereFits(q, instance, ratios, liveSeconds);
    if (instance.requested_host_id) q.where('h.id', instance.requested_host_id);
    if (excludeHostId) q.whereNot('h.id', excludeHostId);
    // The app's count on each host, kept by the database (host_app_counts): one key lookup each. It
    // counts an instance on the host it is placed on, which is never a candidate of its own ranking
    // (an unplaced create's, or a move's that excludes its source).
    if (instance.app) q.leftJoin('host_app_counts as a', (j) => j.on('a.host_id', 'h.id').andOnVal('a.app', instance.app!));
    const adjusted = `${freeScore(ratios, 'h.')} ${instance.app ? '- 10 * coalesce(a.n, 0)' : ''}`;
    const order = `${adjusted} desc, h.id asc`;
    q.orderByRaw(order).limit(limit).select(...RANK_COLUMNS.map((c) => `h.${c}`), db.raw(instance.app ? 'coalesce(a.n, 0)::int as app_count' : '0 as app_count'),
      db.raw(`${freeScore(ratios, 'h.')} as free_score, ${adjusted} as adjusted`));
    // The first host's pinned CPUs, in the same snapshot as its usage counters: the claim's one
    // statement (claimAtOnce) chooses its CPUs from them without a read under the host's lock.
    if (withUsage) {
      const first = `row_number() over (order by ${order}) = 1`;
      q.select(db.raw(`case when ${first} then h.numa end as top_numa, case when ${first} then array(${CPU_USAGE_OF_H}) end as top_cpus`, [instance.id, instance.id]));
    }
    return q;
  };
  const toCandidates = (rows: Record<string, unknown>[]) => {
    const first = rows[0];
    const top: TopSeen | null = first?.top_numa ? {
      id: String(first.id), numa: first.top_numa as HostRow['numa'], usage: countCpus(first.top_cpus as number[]), appCount: Number(first.app_count),
      used: { vcpus: Number(first.used_vcpus), memoryMb: Number(first.used_memory_mb), diskGb: Number(first.used_disk_gb) },
    } : null;
    return { candidates: rows.map((r) => candidate(toHostRow(r), Number(r.app_count), liveSeconds)), top };
  };
  if (!instance.requested_host_id) {
    // First the zone's best hosts by free capacity, walked in the rank index's order (ensureRankIndex)
    // and cut at `limit * WALK`: an index walk the planner always takes, instead of scoring every host.
    const walk = limit * WALK;
    const best = db('hosts as w').where({ 'w.zone_id': instance.zone_id, 'w.state': 'enabled' })
      .orderByRaw(`${freeScore(ratios, 'w.')} desc, w.id asc`).limit(walk)
      .select(...[...RANK_COLUMNS, 'numa'].map((c) => `w.${c}`), db.raw(`${freeScore(ratios, 'w.')} as walk_score`));
    const rows = await fitting(db.with('best', best).from('best as h'))
      .select(db.raw('(select count(*) from best)::int as walked, (select min(walk_score) from best) as walked_least'), leastAppCount(db, instance.zone_id, instance.app));
    if (rows.length > 0 && (rows[0].walked < walk || walkDecides(rows, limit))) return toCandidates(rows);
  }
  // A pinned host, a zone whose best hosts are full, or an app on nearly every host with a few
  // hosts that have less of it: the whole zone.
  return toCandidates(await fitting(db('hosts as h')));
}

/**
 * Whether the walk's best `limit` rows are the zone's. A host the walk did not reach has no more free
 * capacity than the least the walk saw, and at least the zone's least count of the app, so its score
 * is at most that free capacity less 10 per instance: the walk decides when its last row scores more,
 * or as much with that same free capacity (then the ids, walked in order, break the tie its way).
 */
function walkDecides(rows: Record<string, unknown>[], limit: number): boolean {
  if (rows.length < limit) return false;
  const last = rows[limit - 1];
  const least = Number(last.walked_least);
  const bound = least - 10 * Number(last.app_least);
  const adjusted = Number(last.adjusted);
  return adjusted > bound || (adjusted === bound && Number(last.free_score) === least);
}

/** The weighers' free capacity (cpuFreeWeigher + memoryFreeWeigher) in SQL, the ratios as literals so that it matches the rank index. */
function freeScore(ratios: Ratios, prefix: '' | 'h.' | 'w.'): string {
  const literal = (r: number) => {
    if (!Number.isFinite(r) || r <= 0) throw new Error(`allocation ratio ${r} is not a positive number`);
    return `${r}::float8`;
  };
  return `((1 - ${prefix}used_vcpus / (${prefix}vcpus * ${literal(ratios.cpu)})) + (1 - ${prefix}used_memory_mb / (${prefix}memory_mb * ${literal(ratios.memory)})))`;
}

/**
 * The index that orders each zone's hosts by free capacity for these allocation ratios, made once
 * by the control worker at start (the ratios are its configuration, so the expression cannot be in
 * a migration). Without it placement is the same, only slower at thousands of hosts.
 */
export async function ensureRankIndex(db: Db, ratios: Ratios): Promise<string> {
  const name = `hosts_rank_c${ratios.cpu}_m${ratios.memory}`.replace(/[^a-z0-9_]/g, 'p').slice(0, 63);
  try {
    await db.raw(`create index if not exists ?? on hosts (zone_id, ${freeScore(ratios, '')} desc, id) where state = 'enabled'`, [name]);
  } catch (err) {
    // Another control worker made it at the same moment.
    if (!['42P07', '23505'].includes(String((err as { code?: string }).code))) throw err;
  }
  return name;
}

/**
 * The filters of placement/filters.ts on `hosts as h`, in SQL: one copy for the ranking and for the
 * claim's re-check under the host's lock.
 */
function whereFits(q: Knex.QueryBuilder, size: { zone_id: string; kind: string; vcpus: number; memory_mb: number; disk_gb: number }, ratios: Ratios, liveSeconds: number) {
  return q.where('h.zone_id', size.zone_id).where('h.state', 'enabled')
    .whereRaw('? = any(h.kinds)', [size.kind])
    .where(liveSince(liveSeconds, 'h.last_heartbeat_at'))
    .whereRaw('? <= h.vcpus', [size.vcpus])
    .whereRaw('h.used_vcpus + ? <= h.vcpus * ?::float8', [size.vcpus, ratios.cpu])
    .whereRaw('h.used_memory_mb + ? <= h.memory_mb * ?::float8', [size.memory_mb, ratios.memory])
    .whereRaw('h.used_disk_gb + ? <= h.disk_gb', [size.disk_gb]);
}

/** Thrown inside a claim's transaction to roll it back. */
class Undo extends Error {
  constructor(readonly why: 'stale' | 'claimed') { super(why); }
}

/**
 * Claims the best host for the instance: rank from a snapshot, then lock the chosen host row and
 * check again; if a concurrent claim took the room, try the next one. A retried activity finds the
 * instance already placed and returns that claim.
 */
export async function claimHost(knex: Knex, instance: string | InstanceRow, ratios: Ratios, liveSeconds: number, round = 0): Promise<Claim> {
  const instanceId = typeof instance === 'string' ? instance : instance.id;
  // A caller's row (read under the instance's lock just before) saves a read; every later round reads afresh.
  const first = typeof instance === 'string' ? await knex('instances').where({ id: instanceId }).first() as InstanceRow : instance;
  if (first.host_id && first.cpuset) return { hostId: first.host_id, cpuset: first.cpuset };
  const read = await rankRead(knex, first, ratios, liveSeconds, CLAIM_CANDIDATES, null, round === 0);
  const ranking = rankHosts(read.candidates, requestOf(first), ratios);
  for (const option of ranking.hosts) {
    if (read.top?.id === option.id) {
      const claim = await claimAtOnce(knex, first, read.top, ratios, liveSeconds);
      if (claim) return claim;
    }
    let claim: Claim | null;
    try {
      claim = await knex.transaction(async (trx): Promise<Claim | null> => {
        // Lock the host, check it still fits and take the capacity, in one statement: a host that
        // concurrent claims filled since the ranking matches no row.
        const [hostRow] = await whereFits(trx('hosts as h').where('h.id', option.id), first, ratios, liveSeconds)
          .update(usageDelta(trx, first, 1)).returning('h.*');
        if (!hostRow) return null;
        // The app's count here, under the host's lock (every claim to it holds that lock): if a
        // concurrent claim of the same app landed here since the ranking, rank again, so that
        // instances created at once (a batch) still spread.
        if (first.app && round < 5) {
          const { rows } = await trx.raw('select ? as n', [keptAppCount(trx, option.id, first.app)]);
          if (Number(rows[0].n) !== option.appCount) throw new Undo('stale');
        }
        const cpuset = chooseCpuset(toHostRow(hostRow).numa.nodes, await cpuUsageOnHost(trx, option.id, instanceId), first.vcpus);
        // Compare-and-set: a concurrent attempt for the same instance (a retried activity) that claimed first wins.
        const placed = await trx('instances').where({ id: instanceId }).whereNull('cpuset').update({ host_id: option.id, cpuset, updated_at: trx.fn.now() });
        if (placed === 0) throw new Undo('claimed');
        return { hostId: option.id, cpuset };
      });
    } catch (err) {
      if (!(err instanceof Undo)) throw err;
      return claimHost(knex, instanceId, ratios, liveSeconds, round + 1);
    }
    if (claim) return claim;
  }
  // Every one of the best hosts was filled by concurrent claims: look at the whole zone again.
  if (ranking.hosts.length === CLAIM_CANDIDATES && round < 5) return claimHost(knex, instanceId, ratios, liveSeconds, round + 1);
  // Explain from what the hosts look like now: concurrent claims may have taken the room we saw.
  const now = await candidates(knex, first, liveSeconds);
  const { rejectedBy } = rankHosts(now, requestOf(first), ratios);
  throw new CapacityError(explainNoHost(now.length, rejectedBy), noRoom(rejectedBy));
}

/**
 * The claim of the host the ranking put first, in one statement (its own transaction): lock the
 * instance if still unplaced, take the host's capacity if it still fits and nothing was claimed or
 * given back there since the ranking read (its usage counters and the app's count unchanged), then
 * place the instance on the CPUs chosen from what that read saw. Null when anything moved: the
 * claim under the host's lock (claimHost) decides then. Locks in the order releaseHost and the
 * moves take them: the instance, then the host.
 */
async function claimAtOnce(knex: Knex, instance: InstanceRow, top: TopSeen, ratios: Ratios, liveSeconds: number): Promise<Claim | null> {
  const cpuset = chooseCpuset(top.numa.nodes, top.usage, instance.vcpus);
  const host = whereFits(knex('hosts as h').where('h.id', top.id), instance, ratios, liveSeconds)
    .where({ 'h.used_vcpus': top.used.vcpus, 'h.used_memory_mb': top.used.memoryMb, 'h.used_disk_gb': top.used.diskGb })
    .whereExists((q) => q.from('unplaced'));
  if (instance.app) host.whereRaw('? = ?', [keptAppCount(knex, top.id, instance.app), top.appCount]);
  const placed = await knex.with('unplaced', knex('instances').where({ id: instance.id }).whereNull('cpuset').forUpdate().select('id'))
    .with('claimed', host.update(usageDelta(knex, instance, 1)).returning('h.id'))
    .from('instances').where({ id: instance.id }).whereExists((q) => q.from('claimed'))
    .update({ host_id: top.id, cpuset, updated_at: knex.fn.now() }).returning('id');
  return placed.length > 0 ? { hostId: top.id, cpuset } : null;
}

/** Gives the host's capacity back; idempotent because the claim is cleared in the same transaction. */
export async function releaseHost(knex: Db, instanceId: string): Promise<void> {
  await knex.transaction(async (trx) => {
    const instance = await trx('instances').where({ id: instanceId }).forUpdate().first() as InstanceRow | undefined;
    if (!instance?.host_id || !instance.cpuset) return;
    await addUsage(trx, instance.host_id, instance, -1);
    await trx('instances').where({ id: instanceId }).update({ cpuset: null, updated_at: trx.fn.now() });
  });
}

/**
 * The API's early answer: 422 with the reasons when no host of the zone could take the instance
 * now, before anything is written. The claim in the workflow still decides.
 */
export async function checkPlacement(db: Db, instance: InstanceRow, ratios: Ratios, liveSeconds: number): Promise<void> {
  if ((await topCandidates(db, instance, ratios, liveSeconds, 1)).length > 0) return;
  const all = await candidates(db, instance, liveSeconds);
  const { hosts, rejectedBy } = rankHosts(all, requestOf(instance), ratios);
  if (hosts.length === 0) throw new CapacityError(explainNoHost(all.length, rejectedBy), noRoom(rejectedBy));
}

/**
 * A migration's target: placement over the zone without the source (or the admin's host), the
 * capacity claimed beside the source's until the move commits. A retried call returns the claim.
 */
export async function claimTargetHost(knex: Knex, instanceId: string, pinnedHostId: string | null, ratios: Ratios, liveSeconds: number): Promise<Claim> {
  const first = await knex('instances').where({ id: instanceId }).first() as InstanceRow & { target_host_id: string | null; target_cpuset: number[] | null };
  if (first.target_host_id && first.target_cpuset) return { hostId: first.target_host_id, cpuset: first.target_cpuset };
  const request = { ...first, ...targetClaimSize(first), requested_host_id: pinnedHostId };
  const ranking = rankHosts(await topCandidates(knex, request, ratios, liveSeconds, TOP_CANDIDATES, first.host_id), requestOf(request), ratios);
  for (const option of ranking.hosts) {
    const claim = await knex.transaction(async (trx) => {
      const instance = await trx('instances').where({ id: instanceId }).forUpdate().first();
      if (instance.target_host_id && instance.target_cpuset) return { hostId: instance.target_host_id, cpuset: instance.target_cpuset };
      const hostRow = toHostRow(await trx('hosts').where({ id: option.id }).forUpdate().first());
      if (rankHosts([candidate(hostRow, option.appCount, liveSeconds)], requestOf(request), ratios).hosts.length === 0) return null;
      const size = targetClaimSize(instance);
      const cpuset = chooseCpuset(hostRow.numa.nodes, await cpuUsageOnHost(trx, option.id, instanceId), size.vcpus);
      await addUsage(trx, option.id, size, 1);
      await trx('instances').where({ id: instanceId }).update({ target_host_id: option.id, target_cpuset: cpuset });
      return { hostId: option.id, cpuset };
    });
    if (claim) return claim;
  }
  return noTarget(knex, request, first.host_id, ratios, liveSeconds);
}

/** Why no host but `excludeHostId` can take the request, from what the hosts look like now. */
async function noTarget(db: Db, request: InstanceRow, excludeHostId: string | null, ratios: Ratios, liveSeconds: number): Promise<never> {
  const all = (await candidates(db, request, liveSeconds)).filter((h) => h.id !== excludeHostId);
  const { rejectedBy } = rankHosts(all, requestOf(request), ratios);
  throw new CapacityError(explainNoHost(all.length, rejectedBy), noRoom(rejectedBy));
}

/**
 * The API's early answer for a resize that moves: another host of the zone takes the instance at
 * `size`, or a 422 with the reasons. The claim in the workflow still decides.
 */
export async function checkTargetPlacement(db: Db, instance: InstanceRow, size: { vcpus: number; memoryMb: number; diskGb: number }, ratios: Ratios, liveSeconds: number): Promise<void> {
  // A create's pinned host is not the move's: any host of the zone but the instance's own.
  const request = { ...instance, vcpus: size.vcpus, memory_mb: size.memoryMb, disk_gb: size.diskGb, requested_host_id: null };
  if ((await topCandidates(db, request, ratios, liveSeconds, 1, instance.host_id)).length > 0) return;
  await noTarget(db, request, instance.host_id, ratios, liveSeconds);
}

const usageDelta = (db: Db, i: { vcpus: number; memory_mb: number; disk_gb: number }, sign: 1 | -1) => ({
  used_vcpus: db.raw('greatest(used_vcpus + ?, 0)', [sign * i.vcpus]),
  used_memory_mb: db.raw('greatest(used_memory_mb + ?, 0)', [sign * i.memory_mb]),
  used_disk_gb: db.raw('greatest(used_disk_gb + ?, 0)', [sign * i.disk_gb]),
});

export async function addUsage(trx: Db, hostId: string, i: { vcpus: number; memory_mb: number; disk_gb: number }, sign: 1 | -1): Promise<void> {
  await trx('hosts').where({ id: hostId }).update(usageDelta(trx, i, sign));
}

/** Gives back a target claim that will not be used. */
export async function releaseTargetHost(knex: Db, instanceId: string): Promise<void> {
  await knex.transaction(async (trx) => {
    const instance = await trx('instances').where({ id: instanceId }).forUpdate().first();
    if (!instance?.target_host_id) return;
    await addUsage(trx, instance.target_host_id, targetClaimSize(instance), -1);
    await trx('instances').where({ id: instanceId }).update({ target_host_id: null, target_cpuset: null });
  });
}

/**
 * The move is done: the target claim becomes the instance's, the source's capacity goes back, and a stale
 * copy recorded on the target (an earlier visit's, which the target's build replaced) is not stale any more.
 */
export async function commitTargetHost(knex: Db, instanceId: string): Promise<{ from: string | null; to: string }> {
  return knex.transaction(async (trx) => {
    const instance = await trx('instances').where({ id: instanceId }).forUpdate().first();
    if (!instance.target_host_id) return { from: null, to: instance.host_id };
    if (instance.host_id && instance.cpuset) await addUsage(trx, instance.host_id, instance, -1);
    await trx('instances').where({ id: instanceId }).update({
      host_id: instance.target_host_id, cpuset: instance.target_cpuset, target_host_id: null, target_cpuset: null, updated_at: trx.fn.now(),
    });
    await clearStaleCopy(trx, instanceId, instance.target_host_id);
    return { from: instance.host_id, to: instance.target_host_id };
  });
}

export interface Usage { vcpus: number; memoryMb: number; diskGb: number }
export interface UsageCorrection { hostId: string; was: Usage; now: Usage }

/** Each host's used capacity and what its instances' claims (placed there, or claiming it as a migration target) add up to. */
export async function usageAndClaims(db: Db): Promise<{ hostId: string; used: Usage; claims: Usage }[]> {
  const rows = await db.raw(`
    select h.id, h.used_vcpus, h.used_memory_mb, h.used_disk_gb,
      coalesce(sum(c.vcpus), 0)::int as vcpus, coalesce(sum(c.memory_mb), 0)::bigint as memory_mb, coalesce(sum(c.disk_gb), 0)::bigint as disk_gb
    from hosts h left join (
      select host_id as h, vcpus, memory_mb, disk_gb from instances where host_id is not null and cpuset is not null
      union all
      select target_host_id, coalesce((resize_to->>'vcpus')::int, vcpus), coalesce((resize_to->>'memoryMb')::int, memory_mb),
        coalesce((resize_to->>'diskGb')::int, disk_gb)
      from instances where target_host_id is not null and target_cpuset is not null
    ) c on c.h = h.id group by h.id order by h.id`);
  return rows.rows.map((r: any) => ({
    hostId: r.id,
    used: { vcpus: r.used_vcpus, memoryMb: Number(r.used_memory_mb), diskGb: Number(r.used_disk_gb) },
    claims: { vcpus: r.vcpus, memoryMb: Number(r.memory_mb), diskGb: Number(r.disk_gb) },
  }));
}

export const sameUsage = (a: Usage, b: Usage): boolean => a.vcpus === b.vcpus && a.memoryMb === b.memoryMb && a.diskGb === b.diskGb;

/**
 * Recomputes each host's used capacity from its instances' claims and corrects the counters that
 * drifted. The host rows are locked first, so a claim or release in flight is either counted or
 * waits for this to finish.
 */
export async function recomputeHostUsage(knex: Knex): Promise<UsageCorrection[]> {
  return knex.transaction(async (trx) => {
    await trx('hosts').orderBy('id').forUpdate().select('id');
    const corrections: UsageCorrection[] = [];
    for (const h of await usageAndClaims(trx)) {
      if (sameUsage(h.used, h.claims)) continue;
      await trx('hosts').where({ id: h.hostId }).update({ used_vcpus: h.claims.vcpus, used_memory_mb: h.claims.memoryMb, used_disk_gb: h.claims.diskGb });
      corrections.push({ hostId: h.hostId, was: h.used, now: h.claims });
    }
    return corrections;
  });
}
