/**
 * How a resize is applied, decided before it starts and stated to the user in the 202 answer and on the
 * operation's progress (never a silent fallback). Pure: the API, the workflow and the tests share it.
 */
import type { InstanceKind } from '../drivers/instance-driver';

export interface Size { vcpus: number; memoryMb: number; diskGb: number }
/** A VM's domain maxima: its vCPUs and memory change live up to these (null: defined without headroom). */
export interface Maxima { maxVcpus: number | null; maxMemoryMb: number | null }
/** A size with the host CPUs it is pinned to (and a VM's maxima): what a resize claims and what it gives back. */
export interface SizeClaim extends Size, Partial<Maxima> {
  cpuset: number[];
  /** The size a resize that moves goes to (plan `migrate`): built on another host, never applied in place. */
  moves?: boolean;
}

export type ResizePlan = 'live' | 'cold' | 'offline' | 'migrate';

export const PLAN_DETAIL: Record<ResizePlan, string> = {
  live: 'applied while it runs: a container\'s limits (docker update), or a VM\'s vCPUs hot-plugged and its memory moved by its balloon, within the maxima its domain was defined with',
  cold: 'the VM is powered off, changed (a bigger disk and filesystem, new vCPUs, memory and maxima) and started again: a short outage',
  offline: 'applied to the stopped instance, which stays stopped',
  migrate: 'its host has no room: the instance is stopped, snapshotted and built at the new size on a host of the zone that has, with the same IP and MAC, then started if it ran; the copy on the old host is destroyed',
};

/**
 * A stopped instance changes offline; a container live; a running VM live when its disk stays, its vCPUs do not
 * shrink (a hot-unplug needs the guest's consent) and both stay within its domain's maxima, else cold.
 */
export function planResize(kind: InstanceKind, state: 'running' | 'stopped', from: Size, to: Size, maxima: Maxima): ResizePlan {
  if (state === 'stopped') return 'offline';
  if (kind === 'docker') return 'live';
  const fits = maxima.maxVcpus !== null && maxima.maxMemoryMb !== null && to.vcpus <= maxima.maxVcpus && to.memoryMb <= maxima.maxMemoryMb;
  return fits && to.diskGb === from.diskGb && to.vcpus >= from.vcpus ? 'live' : 'cold';
}

/** The maxima a VM's domain is defined with: its size times the headroom (VCLOUD_VM_RESIZE_HEADROOM), within a create's bounds. */
export function maximaFor(kind: InstanceKind, size: Pick<Size, 'vcpus' | 'memoryMb'>, headroom: number): Maxima {
  if (kind !== 'kvm' || !(headroom > 1)) return { maxVcpus: null, maxMemoryMb: null };
  return { maxVcpus: Math.min(64, Math.floor(size.vcpus * headroom)), maxMemoryMb: Math.min(512 * 1024, Math.floor(size.memoryMb * headroom)) };
}

/** The request, with what it leaves out taken from the current size. */
export const targetSize = (from: Size, req: Partial<Size>): Size =>
  ({ vcpus: req.vcpus ?? from.vcpus, memoryMb: req.memoryMb ?? from.memoryMb, diskGb: req.diskGb ?? from.diskGb });

/** Why the resize is refused before anything is written (a 422), or null. A disk never shrinks: its filesystem holds data. */
export function resizeRefusal(from: Size, to: Size): { path: string; message: string } | null {
  if (to.diskGb < from.diskGb) return { path: 'diskGb', message: `a disk does not shrink (it is ${from.diskGb} GB)` };
  if (to.vcpus === from.vcpus && to.memoryMb === from.memoryMb && to.diskGb === from.diskGb) return { path: 'vcpus', message: 'the instance already has this size' };
  return null;
}

/** Per dimension, the larger: what is held while a resize runs, so that its undo always has room. */
export const largerSize = (a: Size, b: Size): Size =>
  ({ vcpus: Math.max(a.vcpus, b.vcpus), memoryMb: Math.max(a.memoryMb, b.memoryMb), diskGb: Math.max(a.diskGb, b.diskGb) });

export const sizeOfRow = (r: { vcpus: number; memory_mb: number; disk_gb: number }): Size => ({ vcpus: r.vcpus, memoryMb: r.memory_mb, diskGb: r.disk_gb });
