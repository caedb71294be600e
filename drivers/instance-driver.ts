// The one interface both drivers implement (in the spirit of incus's driver_lxc / driver_qemu):
// same verbs, keyed by the instance id, idempotent, with only the project's own types crossing it.

import type { RawSample } from '../host/metrics/sample';

export type InstanceKind = 'docker' | 'kvm';

export interface ImageRef {
  id: string; kind: 'tgz' | 'docker'; location: string; digest: string | null; boot: Record<string, string> | null;
}

export interface InstanceSpec {
  instanceId: string; kind: InstanceKind; hostname: string; image: ImageRef;
  vcpus: number; memoryMb: number; diskGb: number; cpuset: number[];
  /** A VM's domain maxima (absent or null: its size): vCPUs and memory change live up to these. */
  maxVcpus?: number | null; maxMemoryMb?: number | null;
  network: { bridge: string; ip: string; prefix: number; gateway: string; mac: string };
  /** root's authorized_keys, installed by the platform when the instance is made (never through a guest agent). */
  authorizedKeys?: string | null;
  /** A VM made from a snapshot: its disk comes from this image-store object, not from the template. */
  restore?: { location: string; digest: string | null } | null;
}

export interface SnapshotResult { location: string; digest: string; consistency: 'filesystem' | 'crash' }

export interface InstanceStatus {
  exists: boolean; running: boolean; paused: boolean; state: string;
  /** The process whose network namespace is the instance's (containers only). */
  pid?: number;
  cpuset?: string; memoryBytes?: number; labels?: Record<string, string>;
}

/** What an engine holds for one instance, as the reconciler and the invariant checker see it. */
export interface EngineObject {
  instanceId: string;
  kind: InstanceKind;
  /** `absent`: only leftovers remain (a disk without its domain, a veth without its container). */
  state: 'running' | 'paused' | 'stopped' | 'absent';
  /** Its network is attached (a container's veth pair; a VM's NIC is part of its domain). */
  attached: boolean;
  /** A snapshot left its filesystems frozen, or its domain paused, and nobody has undone it yet. */
  frozen: boolean;
  /** Asked for by the invariant checker: the limits and the address the engine really has. */
  detail?: { ip: string | null; cpuset: number[]; memoryMb: number };
}

export interface InstanceDriver {
  readonly kind: InstanceKind;
  probe(): Promise<{ version: string }>;
  ensureImage(spec: InstanceSpec, onProgress?: (detail: string) => void): Promise<void>;
  create(spec: InstanceSpec): Promise<void>;
  start(instanceId: string): Promise<void>;
  stop(instanceId: string): Promise<void>;
  pause(instanceId: string): Promise<void>;
  resume(instanceId: string): Promise<void>;
  /** Puts the running instance on its zone network (a container's veth pair; nothing for a VM, whose NIC is in its domain). */
  attachNetwork(spec: InstanceSpec): Promise<void>;
  detachNetwork(instanceId: string): Promise<void>;
  /** Removes the instance, its disk and its network; finding nothing is success. */
  destroy(instanceId: string): Promise<void>;
  /**
   * Gives the instance the spec's vCPUs, cpuset, memory and (grown, never shrunk) disk, ending running if
   * `running`, else stopped; how (live or cold) is the driver's, as lib/resize-plan.ts states it. Answers the
   * disk's size after (null where the engine does not bound it).
   */
  resize(spec: InstanceSpec, running: boolean): Promise<{ diskGb: number | null }>;
  inspect(instanceId: string): Promise<InstanceStatus>;
  /** Every object of this engine that belongs to the platform (named vc-*, labelled, or aliased as ours). */
  inventory(detail: boolean): Promise<EngineObject[]>;
  /**
   * One reading of every running instance of this engine, from the host (cgroups and veths, or
   * libvirt's bulk statistics), never from inside a guest: what the agent's monitoring exports.
   */
  sampleAll(): Promise<Map<string, RawSample>>;
  /** A copy of the instance's filesystem that `create` can start from on any host. */
  snapshot(instanceId: string, snapshotId: string): Promise<SnapshotResult>;
  /** Undoes what an interrupted snapshot left (thaws the filesystems, resumes the domain); a no-op otherwise. */
  endSnapshot(instanceId: string): Promise<void>;
}

export const instanceResourceName = (instanceId: string): string => `vc-${instanceId}`;
export const INSTANCE_LABEL = 'vcloud.instance';

/** A failure no retry can fix (an image missing from the registry, say). */
export class PermanentDriverError extends Error {
  constructor(message: string) { super(message); this.name = 'PermanentDriverError'; }
}
