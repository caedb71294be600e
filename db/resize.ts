import type { Db } from './connection';
import { toHostRow } from './hosts';
import { cpuUsageOnHost, type InstanceRow } from './instances';
import { addUsage, checkTargetPlacement, commitTargetHost, releaseTargetHost } from './placement';
import { recordStaleCopy } from './snapshots';
import { chooseCpuset } from '../placement/cpuset';
import { CapacityError, StateConflictError } from '../lib/errors';
import { largerSize, maximaFor, sizeOfRow, type ResizePlan, type Size, type SizeClaim } from '../lib/resize-plan';
import type { Ratios } from '../placement/types';

type ResizingRow = InstanceRow & { resize_from: SizeClaim | null; resize_to: SizeClaim | null };

const rowSize = (s: Size) => ({ vcpus: s.vcpus, memory_mb: s.memoryMb, disk_gb: s.diskGb });
const minus = (a: Size, b: Size) => ({ vcpus: a.vcpus - b.vcpus, memory_mb: a.memoryMb - b.memoryMb, disk_gb: a.diskGb - b.diskGb });

/** Why the instance's host cannot hold `to` beside what it holds now (the instance's own share counted once), or null. */
export function whyNotOnHost(host: ReturnType<typeof toHostRow>, from: Size, to: Size, ratios: Ratios): { path: string; message: string } | null {
  const grow = minus(largerSize(from, to), from);
  if (to.vcpus > host.vcpus) return { path: 'vcpus', message: `the host has ${host.vcpus} CPUs` };
  // Only what grows is asked of the host: a shrink fits even where the host is over its ratios now.
  if (grow.vcpus > 0 && host.used_vcpus + grow.vcpus > host.vcpus * ratios.cpu) return { path: 'vcpus', message: 'the host has no room for more vCPUs' };
  if (grow.memory_mb > 0 && host.used_memory_mb + grow.memory_mb > host.memory_mb * ratios.memory) return { path: 'memoryMb', message: 'the host has no room for more memory' };
  if (grow.disk_gb > 0 && host.used_disk_gb + grow.disk_gb > host.disk_gb) return { path: 'diskGb', message: 'the host has no room for a bigger disk' };
  return null;
}

export interface ResizeClaimOptions {
  ratios: Ratios; plan: ResizePlan; headroom: number;
  /** The owner's consent to a move when the host has no room (plan `migrate`), and how fresh a target's heartbeat must be. */
  allowMigrate: boolean; liveSeconds: number;
}

/**
 * The resize's claim, in the API's transaction under the instance's and the host's locks: the row holds the
 * larger of the two sizes (and the host's counters with it) until the resize ends, so neither the new size
 * nor the way back can be taken by another claim; the new cpuset is chosen NUMA-local now. When the host has
 * no room and the owner allows it, the plan becomes `migrate`: the row stays at its size on its host, and the
 * workflow claims a host that fits the new one (a target claim at `resize_to`).
 */
export async function claimResize(trx: Db, instance: InstanceRow, to: Size, o: ResizeClaimOptions): Promise<{ from: SizeClaim; to: SizeClaim; plan: ResizePlan }> {
  if (!instance.host_id || !instance.cpuset) throw new StateConflictError(`instance ${instance.id} is on no host`);
  const hostRow = toHostRow(await trx('hosts').where({ id: instance.host_id }).forUpdate().first());
  const from = sizeOfRow(instance);
  const { ratios, headroom } = o;
  const refusal = whyNotOnHost(hostRow, from, to, ratios);
  if (refusal && o.allowMigrate) return claimResizeMove(trx, instance, from, to, o);
  if (refusal) {
    throw new CapacityError(`host ${hostRow.id} cannot hold the new size: ${refusal.message} (with "allowMigrate": true it moves to a host that can)`,
      { errors: [refusal], publicDetail: 'the instance\'s host has no room for this size; with "allowMigrate": true it moves to a host of the zone that has', adminOnly: ['errors'] });
  }
  const { plan } = o;
  const cpuset = to.vcpus === from.vcpus ? instance.cpuset : chooseCpuset(hostRow.numa.nodes, await cpuUsageOnHost(trx, hostRow.id, instance.id), to.vcpus);
  const held = largerSize(from, to);
  await addUsage(trx, hostRow.id, minus(held, from), 1);
  // A live change keeps the domain's maxima; a VM defined again (cold, offline) gets maxima from its new size.
  const fromMaxima = { maxVcpus: instance.max_vcpus ?? null, maxMemoryMb: instance.max_memory_mb ?? null };
  const toMaxima = plan === 'live' ? fromMaxima : maximaFor(instance.kind, to, headroom);
  const claim = { from: { ...from, cpuset: instance.cpuset, ...fromMaxima }, to: { ...to, cpuset, ...toMaxima } };
  // One statement: the database holds `resizing` and the two sizes together (instances_resize_check); the transition trigger checks the state.
  const n = await trx('instances').where({ id: instance.id, state: instance.state }).update({
    ...rowSize(held), cpuset: to.vcpus > from.vcpus ? cpuset : instance.cpuset,
    resize_from: JSON.stringify(claim.from), resize_to: JSON.stringify(claim.to), state: 'resizing', updated_at: trx.fn.now(),
  });
  if (n !== 1) throw new StateConflictError(`instance ${instance.id} changed while it was being resized`);
  return { ...claim, plan };
}

/** A move's claim: another host must fit the new size now (else a 422 with why); the row and its host are left as they are. */
async function claimResizeMove(trx: Db, instance: InstanceRow, from: Size, to: Size, o: ResizeClaimOptions): Promise<{ from: SizeClaim; to: SizeClaim; plan: ResizePlan }> {
  await checkTargetPlacement(trx, instance, to, o.ratios, o.liveSeconds);
  const fromMaxima = { maxVcpus: instance.max_vcpus ?? null, maxMemoryMb: instance.max_memory_mb ?? null };
  // The cpuset is the target's, chosen with its claim; the domain is defined anew there, with maxima from the new size.
  const claim = { from: { ...from, cpuset: instance.cpuset!, ...fromMaxima }, to: { ...to, cpuset: [], ...maximaFor(instance.kind, to, o.headroom), moves: true } };
  const n = await trx('instances').where({ id: instance.id, state: instance.state }).update({
    resize_from: JSON.stringify(claim.from), resize_to: JSON.stringify(claim.to), state: 'resizing', updated_at: trx.fn.now(),
  });
  if (n !== 1) throw new StateConflictError(`instance ${instance.id} changed while it was being resized`);
  return { ...claim, plan: 'migrate' };
}

/**
 * A move's commit, in one transaction: the target claim (at the new size) becomes the instance's, the source's
 * capacity goes back, the row takes the new size, the target's cpuset and the new maxima, the source's copy is
 * recorded for destruction, and the instance is back in `state`. Idempotent.
 */
export async function commitResizeMove(trx: Db, id: string, state: 'running' | 'stopped'): Promise<boolean> {
  const row = await lockResizing(trx, id) as (ResizingRow & { target_host_id: string | null; target_cpuset: number[] | null }) | undefined;
  if (row?.state !== 'resizing' || !row.resize_to) return false;
  if (!row.target_host_id || !row.target_cpuset) throw new StateConflictError(`instance ${id} has no target claim to commit`);
  const { from: source } = await commitTargetHost(trx, id);
  if (source && source !== row.target_host_id) await recordStaleCopy(trx, id, source, row.kind);
  const to = row.resize_to;
  await trx('instances').where({ id, state: 'resizing' }).update({
    ...rowSize(to), max_vcpus: to.maxVcpus ?? null, max_memory_mb: to.maxMemoryMb ?? null, state,
    resize_from: null, resize_to: null, failure: null, repair_to: null, updated_at: trx.fn.now(),
  });
  return true;
}

/**
 * Sets the row to `size` and its new state in one statement, and gives back what it held beyond it; to a repair
 * the marker stays (the repair conforms the copy, then clears it).
 */
async function settleSize(trx: Db, row: ResizingRow, size: SizeClaim, end: { state: 'running' | 'stopped' } | { state: 'repairing'; repairTo: 'running' | 'stopped'; failure: string }): Promise<void> {
  await addUsage(trx, row.host_id!, minus(size, sizeOfRow(row)), 1);
  await trx('instances').where({ id: row.id, state: 'resizing' }).update({
    ...rowSize(size), cpuset: size.cpuset, state: end.state, updated_at: trx.fn.now(),
    ...('maxVcpus' in size ? { max_vcpus: size.maxVcpus ?? null, max_memory_mb: size.maxMemoryMb ?? null } : {}),
    ...(end.state === 'repairing' ? { repair_to: end.repairTo, failure: end.failure } : { resize_from: null, resize_to: null, failure: null, repair_to: null }),
  });
}

const lockResizing = async (trx: Db, id: string): Promise<ResizingRow | undefined> =>
  trx('instances').where({ id }).forUpdate().first();

/** The engine took the new size: the row becomes it, the rest is given back, the instance is back in `state`. Idempotent. */
export async function commitResize(trx: Db, id: string, state: 'running' | 'stopped'): Promise<boolean> {
  const row = await lockResizing(trx, id);
  if (row?.state !== 'resizing' || !row.resize_to) return false;
  await settleSize(trx, row, row.resize_to, { state });
  return true;
}

/**
 * The engine is back at the old size: so is the row. A VM's disk that already grew cannot shrink, so the claim
 * keeps what the host says the disk is (`diskGb`). Idempotent.
 */
export async function undoResize(trx: Db, id: string, state: 'running' | 'stopped', diskGb: number | null): Promise<boolean> {
  const row = await lockResizing(trx, id) as (ResizingRow & { target_host_id: string | null }) | undefined;
  if (row?.state !== 'resizing' || !row.resize_from) return false;
  // A move's target claim is given back first (at the size it holds); a copy left there is destroyed by whoever reaches it.
  if (row.target_host_id) {
    await recordStaleCopy(trx, id, row.target_host_id, row.kind);
    await releaseTargetHost(trx, id);
  }
  await settleSize(trx, row, { ...row.resize_from, diskGb: Math.max(row.resize_from.diskGb, diskGb ?? 0) }, { state });
  return true;
}

/**
 * Nobody knows what size the engine has (a terminated workflow, an undo that could not reach the host): the row
 * goes back to the old vCPUs and memory and keeps the larger disk (a grown one cannot shrink), and a repair
 * conforms the copy to the row (the marker `resize_from` tells it to) before it brings its state back.
 */
export async function abandonResize(trx: Db, id: string, repairTo: 'running' | 'stopped', failure: string): Promise<boolean> {
  const row = await lockResizing(trx, id);
  if (row?.state !== 'resizing' || !row.resize_from || !row.resize_to) return false;
  // A VM's disk may have grown in place; a move never touches the source's.
  const grewInPlace = row.kind === 'kvm' && !row.resize_to.moves;
  const disk = grewInPlace ? Math.max(row.resize_from.diskGb, row.resize_to.diskGb) : row.resize_from.diskGb;
  await settleSize(trx, row, { ...row.resize_from, diskGb: disk }, { state: 'repairing', repairTo, failure });
  return true;
}

/** A repair that conformed the copy (or ended it) clears the marker an abandoned resize left. */
export async function clearResizeMarker(trx: Db, id: string): Promise<void> {
  await trx('instances').where({ id }).whereNotNull('resize_from').update({ resize_from: null, resize_to: null });
}
