// The one interface both drivers implement (in the spirit of incus's driver_lxc / driver_qemu):
// same verbs, keyed by the instance id, idempotent, with only the project's own types crossing it.

export type InstanceKind = 'docker' | 'kvm';

export interface ImageRef {
  id: string; kind: 'tgz' | 'docker'; location: string; digest: string | null; boot: Record<string, string> | null;
}

export interface InstanceSpec {
  instanceId: string; kind: InstanceKind; hostname: string; image: ImageRef;
  vcpus: number; memoryMb: number; diskGb: number; cpuset: number[];
  network: { bridge: string; ip: string; prefix: number; gateway: string; mac: string };
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

export interface InstanceDriver {
  readonly kind: InstanceKind;
  probe(): Promise<{ version: string }>;
  ensureImage(spec: InstanceSpec, onProgress?: (detail: string) => void): Promise<void>;
  create(spec: InstanceSpec): Promise<void>;
  start(instanceId: string): Promise<void>;
  stop(instanceId: string): Promise<void>;
  pause(instanceId: string): Promise<void>;
  resume(instanceId: string): Promise<void>;
  destroy(instanceId: string): Promise<void>;
  resize(instanceId: string, size: { vcpus: number; memoryMb: number; cpuset: number[] }): Promise<void>;
  inspect(instanceId: string): Promise<InstanceStatus>;
  list(): Promise<string[]>;
  stats(instanceId: string): Promise<{ cpuNanos: number; memoryBytes: number }>;
  /** A copy of the instance's filesystem that `create` can start from on any host. */
  snapshot(instanceId: string, snapshotId: string): Promise<SnapshotResult>;
}

export const instanceResourceName = (instanceId: string): string => `vc-${instanceId}`;
export const INSTANCE_LABEL = 'vcloud.instance';

/** A failure no retry can fix (an image missing from the registry, say). */
export class PermanentDriverError extends Error {
  constructor(message: string) { super(message); this.name = 'PermanentDriverError'; }
}
