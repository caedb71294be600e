import type { InstanceRow } from '../db/instances';
import type { OperationRow } from '../db/operations';
import type { HostRow } from '../db/hosts';
import type { ImageRow } from '../db/images';
import { publicInstanceFailure, publicOperationError } from './public-errors';

/** Who reads a view: a user reads failures in the platform's words, an admin reads them whole. */
export interface Viewer { role: string }
const forUser = (viewer?: Viewer) => viewer !== undefined && viewer.role !== 'admin';

export const instanceView = (i: InstanceRow, imageName?: string, viewer?: Viewer) => ({
  id: i.id, name: i.name, hostname: i.hostname, ownerId: i.owner_id, zone: i.zone_id, kind: i.kind,
  image: imageName ?? i.image_id, imageId: i.image_id, vcpus: i.vcpus, memoryMb: i.memory_mb, diskGb: i.disk_gb,
  app: i.app, hostId: i.host_id, hostName: i.host_id, ip: i.ip, mac: i.mac, cpuset: i.cpuset, state: i.state,
  failure: forUser(viewer) ? publicInstanceFailure(i.failure) : i.failure, createdAt: i.created_at, updatedAt: i.updated_at,
});

export const operationView = (o: OperationRow, temporalUiUrl: string, namespace: string, viewer?: Viewer) => ({
  id: o.id, type: o.type, state: o.state, instanceId: o.instance_id, hostId: o.host_id, imageId: o.image_id,
  workflowId: o.workflow_id,
  temporalUiUrl: `${temporalUiUrl}/namespaces/${encodeURIComponent(namespace)}/workflows/${encodeURIComponent(o.workflow_id)}`,
  error: (forUser(viewer) ? publicOperationError(o) : o.error) ?? undefined, progress: o.progress ?? undefined, result: o.result ?? undefined,
  createdAt: o.created_at, finishedAt: o.finished_at,
});

/** The operation of a 202 answer, before its row is read back. */
export const acceptedOperation = (
  config: { temporalUiUrl: string; temporalNamespace: string }, op: { id: string; workflowId: string }, type: string,
  ids: { instanceId?: string; hostId?: string; imageId?: string }, requestedBy: string | null,
) => operationView({
  id: op.id, type, workflow_id: op.workflowId, workflow_type: null, run_id: null, prior_state: null, state: 'running',
  instance_id: ids.instanceId ?? null, host_id: ids.hostId ?? null, image_id: ids.imageId ?? null, requested_by: requestedBy,
  error: null, progress: null, result: null, created_at: new Date(), finished_at: null,
}, config.temporalUiUrl, config.temporalNamespace);

export const hostView = (h: HostRow) => ({
  id: h.id, name: h.id, zone: h.zone_id, state: h.state, vcpus: h.vcpus, memoryMb: h.memory_mb, diskGb: h.disk_gb,
  usedVcpus: h.used_vcpus, usedMemoryMb: h.used_memory_mb, usedDiskGb: h.used_disk_gb,
  kinds: h.kinds, numa: h.numa, lastHeartbeatAt: h.last_heartbeat_at,
  fenceCommand: h.fence_command ?? null, fencedAt: h.fenced_at ?? null, fencedBy: h.fenced_by ?? null,
});

export const imageView = (i: ImageRow, viewer?: Viewer) => ({
  // Where a template lies on the platform's disks is for admins.
  id: i.id, name: i.name, kind: i.kind, location: forUser(viewer) && i.kind === 'tgz' ? undefined : i.location, digest: i.digest,
  sizeBytes: i.size_bytes === null ? null : Number(i.size_bytes), boot: i.boot, sourceImageId: i.source_image_id ?? undefined, state: i.state, failure: i.failure ?? undefined,
  ownerId: i.owner_id ?? null, visibility: i.visibility ?? 'public', sourceSnapshotId: i.source_snapshot_id ?? undefined,
});
