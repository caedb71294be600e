/**
 * How a resize is applied, decided before it starts and stated to the user in the 202 answer and on the
 * operation's progress (never a silent fallback). Pure: the API, the workflow and the tests share it.
 */
import type { InstanceKind } from '../drivers/instance-driver';

export interface Size { vcpus: number; memoryMb: number; diskGb: number }
/** A size with the host CPUs it is pinned to: what a resize claims and what it gives back. */
export interface SizeClaim extends Size { cpuset: number[] }

export type ResizePlan = 'live' | 'cold' | 'offline';

export const PLAN_DETAIL: Record<ResizePlan, string> = {
  live: 'applied to the running container (docker update): it keeps running',
  cold: 'the VM is powered off, changed (a bigger disk and filesystem, new vCPUs and memory) and started again: a short outage',
  offline: 'applied to the stopped instance, which stays stopped',
};

/** Containers change live; a running VM cold (vCPUs and memory are fixed at its domain's definition); a stopped instance offline. */
export function planResize(kind: InstanceKind, state: 'running' | 'stopped'): ResizePlan {
  if (state === 'stopped') return 'offline';
  return kind === 'docker' ? 'live' : 'cold';
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
