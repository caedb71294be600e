// The activity signatures the previous release's workflows called, as types only: the legacy
// workflows (selected by `patched('lifecycle-v2')` at the top of each workflow) replay against them.
import type { InstanceSpec, SnapshotResult } from '../../drivers/instance-driver';
import type { ProbeRequest } from '../../host/probe';
import type { ZoneFindings, ZoneToCheck } from '../../db/ip-health';
import type { ConvertJob } from '../../activities/control/image-activities';
import type { EvacuationProgress } from '../../activities/control/migration-activities';
import type { ConvertedImage } from '../../activities/host/image-activities';
import type { InstanceState } from '../../lib/instance-states';

type Spec = InstanceSpec & { hostId: string | null };
export interface Restore { snapshotId: string; location: string; digest: string | null }
interface Claim { hostId: string; cpuset: number[] }

export interface ControlActivities {
  placeInstance(instanceId: string, operationId: string): Promise<Claim>;
  releaseHostCapacity(instanceId: string): Promise<void>;
  allocateIp(instanceId: string): Promise<{ ip: string; mac: string; hostname: string }>;
  releaseIp(instanceId: string): Promise<void>;
  getInstanceSpec(instanceId: string): Promise<Spec>;
  markInstance(instanceId: string, state: InstanceState, failure?: string | null): Promise<void>;
  finishOperation(operationId: string, state: 'succeeded' | 'failed', error?: string, result?: unknown): Promise<void>;
}

export interface MigrationActivities {
  beginMigration(instanceId: string): Promise<{ sourceHostId: string | null; kind: 'docker' | 'kvm'; previousState: InstanceState }>;
  restoreInstanceState(instanceId: string, state: InstanceState): Promise<void>;
  createSnapshotRow(instanceId: string, snapshotId: string): Promise<void>;
  markSnapshotReady(snapshotId: string, location: string, digest: string): Promise<void>;
  markSnapshotFailed(snapshotId: string, failure: string): Promise<void>;
  latestSnapshot(instanceId: string): Promise<Restore | null>;
  snapshotRestore(snapshotId: string): Promise<Restore>;
  claimTarget(instanceId: string, pinnedHostId: string | null): Promise<Claim>;
  releaseTarget(instanceId: string): Promise<void>;
  getMigrationSpec(instanceId: string, restore: Restore | null): Promise<Spec>;
  commitMigration(instanceId: string, state: InstanceState): Promise<{ from: string | null; to: string }>;
  recordStaleCopy(instanceId: string, hostId: string, kind: string): Promise<void>;
  clearStaleCopy(instanceId: string, hostId: string): Promise<void>;
  deleteSnapshotsOf(instanceId: string): Promise<number>;
  hostAlive(hostId: string): Promise<boolean>;
  instancesOnHost(hostId: string): Promise<string[]>;
  beginChildMigration(instanceId: string, requestedBy: string | null): Promise<{ operationId: string; workflowId: string } | { conflict: string }>;
  recordProgress(operationId: string, progress: EvacuationProgress): Promise<void>;
  setHostState(hostId: string, state: 'enabled' | 'draining' | 'disabled'): Promise<void>;
}

export interface IpHealthActivities {
  listZonesToCheck(): Promise<ZoneToCheck[]>;
  recordZoneFindings(workflowId: string, findings: Omit<ZoneFindings, 'quarantined' | 'released'>): Promise<ZoneFindings>;
}

export interface ImageControlActivities {
  planConversion(sourceImageId: string, targetImageId: string): Promise<ConvertJob>;
  markImageReady(id: string, done: ConvertedImage): Promise<void>;
  markImageFailed(id: string, failure: string): Promise<void>;
  deleteRegistryImage(ref: string): Promise<void>;
}

type Ref = Pick<InstanceSpec, 'instanceId' | 'kind'>;
export interface HostActivities {
  ensureImage(spec: InstanceSpec): Promise<void>;
  createInstance(spec: InstanceSpec): Promise<void>;
  startInstance(spec: InstanceSpec): Promise<void>;
  plumbNetwork(spec: InstanceSpec): Promise<void>;
  actOnInstance(spec: InstanceSpec, action: 'start' | 'stop' | 'pause' | 'resume' | 'reboot'): Promise<void>;
  stopInstance(spec: Ref): Promise<void>;
  snapshotInstance(spec: Ref, snapshotId: string): Promise<SnapshotResult>;
  destroyInstance(spec: Ref): Promise<void>;
  probeAddresses(req: ProbeRequest): Promise<string[]>;
}

export interface ImageActivities {
  convertTgzToDocker(job: { sourceImageId: string; sourceLocation: string; sourceDigest: string | null; targetRef: string }): Promise<ConvertedImage>;
  convertDockerToTgz(job: { sourceRef: string; sourceDigest: string | null; targetKey: string }): Promise<ConvertedImage>;
  discardConvertOutput(job: { to: 'docker' | 'tgz'; targetRef?: string; targetKey?: string }): Promise<void>;
}
