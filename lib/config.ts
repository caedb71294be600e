import path from 'node:path';
import { localDatabaseUrl } from './database-url';

// Every setting the processes read, with its default. The README lists the same table.
const env = (name: string, fallback: string): string => process.env[name] ?? fallback;
const num = (name: string, fallback: number): number => {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value)) throw new Error(`${name} must be a number, got ${raw}`);
  return value;
};

// Compiled code runs from dist/lib, two levels below the project root.
export const projectRoot = path.resolve(__dirname, '..', '..');

export function loadConfig() {
  const dataDir = env('VCLOUD_DATA_DIR', path.join(projectRoot, '.data'));
  return {
    dataDir,
    databaseUrl: process.env.VCLOUD_DATABASE_URL ?? localDatabaseUrl(dataDir, 'vcloud'),
    temporalAddress: env('VCLOUD_TEMPORAL_ADDRESS', '127.0.0.1:7233'),
    temporalNamespace: env('VCLOUD_TEMPORAL_NAMESPACE', 'default'),
    temporalTlsCert: process.env.VCLOUD_TEMPORAL_TLS_CERT,
    temporalTlsKey: process.env.VCLOUD_TEMPORAL_TLS_KEY,
    temporalTlsCa: process.env.VCLOUD_TEMPORAL_TLS_CA,
    temporalTlsServerName: process.env.VCLOUD_TEMPORAL_TLS_SERVER_NAME,
    temporalUiUrl: env('VCLOUD_TEMPORAL_UI_URL', 'http://127.0.0.1:8233'),
    controlQueue: env('VCLOUD_CONTROL_QUEUE', 'vcloud-control'),
    apiHost: env('VCLOUD_API_HOST', '127.0.0.1'),
    apiPort: num('VCLOUD_API_PORT', 8080),
    tokenCacheSeconds: num('VCLOUD_TOKEN_CACHE_SECONDS', 60),
    registry: env('VCLOUD_REGISTRY', '127.0.0.1:5000'),
    hostId: env('VCLOUD_HOST_ID', 'local-1'),
    hostZone: env('VCLOUD_HOST_ZONE', 'default'),
    dockerSocket: env('VCLOUD_DOCKER_SOCKET', '/var/run/docker.sock'),
    libvirtUri: env('VCLOUD_LIBVIRT_URI', 'qemu:///system'),
    libvirtDomainType: env('VCLOUD_LIBVIRT_DOMAIN_TYPE', 'kvm') as 'kvm' | 'qemu',
    storageDriver: env('VCLOUD_STORAGE_DRIVER', 'dir') as 'dir' | 'lvm',
    storageDir: process.env.VCLOUD_STORAGE_DIR,
    lvmVolumeGroup: env('VCLOUD_LVM_VG', 'vcloud'),
    maxImageUploadBytes: num('VCLOUD_MAX_IMAGE_UPLOAD_BYTES', 8 * 2 ** 30),
    imageStoreDir: env('VCLOUD_IMAGE_STORE_DIR', path.join(dataDir, 'images')),
    heartbeatSeconds: num('VCLOUD_HEARTBEAT_SECONDS', 5),
    hostScheduleToStartSeconds: num('VCLOUD_HOST_SCHEDULE_TO_START_SECONDS', 30),
    sourceScheduleToStartSeconds: num('VCLOUD_SOURCE_SCHEDULE_TO_START_SECONDS', 15),
    evacuateConcurrency: num('VCLOUD_EVACUATE_CONCURRENCY', 4),
    batchConcurrency: num('VCLOUD_BATCH_CONCURRENCY', 5),
    vmResizeHeadroom: num('VCLOUD_VM_RESIZE_HEADROOM', 2),
    failoverConcurrency: num('VCLOUD_FAILOVER_CONCURRENCY', 10),
    cpuAllocationRatio: num('VCLOUD_CPU_ALLOCATION_RATIO', 16),
    memoryAllocationRatio: num('VCLOUD_MEMORY_ALLOCATION_RATIO', 1),
    logLevel: env('VCLOUD_LOG_LEVEL', 'info'),
    ipHealthScheduleId: env('VCLOUD_IP_HEALTH_SCHEDULE_ID', 'ip-pool-health'),
    ipHealthIntervalSeconds: num('VCLOUD_IP_HEALTH_INTERVAL_SECONDS', 300),
    ipHealthReleaseAfter: num('VCLOUD_IP_HEALTH_RELEASE_AFTER', 3),
    reconcileScheduleId: env('VCLOUD_RECONCILE_SCHEDULE_ID', 'vcloud-reconcile'),
    reconcileIntervalSeconds: num('VCLOUD_RECONCILE_INTERVAL_SECONDS', 30),
    operationGraceSeconds: num('VCLOUD_OPERATION_GRACE_SECONDS', 30),
    orphanGraceSeconds: num('VCLOUD_ORPHAN_GRACE_SECONDS', 120),
    selfFenceSeconds: num('VCLOUD_SELF_FENCE_SECONDS', 15),
    deadAfterSeconds: num('VCLOUD_DEAD_AFTER_SECONDS', 25),
    hostWatchScheduleId: env('VCLOUD_HOST_WATCH_SCHEDULE_ID', 'vcloud-host-watch'),
    hostWatchSeconds: num('VCLOUD_HOST_WATCH_SECONDS', 5),
    busySourceWaitSeconds: num('VCLOUD_BUSY_SOURCE_WAIT_SECONDS', 600),
    peerAddress: env('VCLOUD_AGENT_PEER_ADDRESS', ''),
    // Agentless monitoring: how often the agent reads its instances, and where it serves /metrics (unset: not served).
    metricsIntervalSeconds: num('VCLOUD_METRICS_INTERVAL_SECONDS', 10),
    agentMetricsAddress: env('VCLOUD_AGENT_METRICS_ADDRESS', ''),
    /** The Prometheus the API reads monitoring from (unset: its monitoring routes answer 503). */
    prometheusUrl: process.env.VCLOUD_PROMETHEUS_URL || undefined,
    watchdogDir: env('VCLOUD_WATCHDOG_DIR', path.join(dataDir, 'watchdog')),
    // Storage garbage collection: the registry's unnamed blobs (run with the registry's own binary
    // where its config and storage are) and the image store's unnamed files.
    storageGcScheduleId: env('VCLOUD_STORAGE_GC_SCHEDULE_ID', 'vcloud-storage-gc'),
    storageGcIntervalSeconds: num('VCLOUD_STORAGE_GC_INTERVAL_SECONDS', 86400),
    registryConfig: env('VCLOUD_REGISTRY_CONFIG', path.join(dataDir, 'registry.yml')),
    registryDataDir: env('VCLOUD_REGISTRY_DATA_DIR', path.join(dataDir, 'registry')),
    registryBin: env('VCLOUD_REGISTRY_BIN', 'docker-registry'),
    registryGcLeaseSeconds: num('VCLOUD_REGISTRY_GC_LEASE_SECONDS', 900),
    storeGcGraceSeconds: num('VCLOUD_STORE_GC_GRACE_SECONDS', 3600),
  };
}

export type Config = ReturnType<typeof loadConfig>;

export { hostQueue } from './host-queue';

export const placementRatios = (c: Config) => ({ cpu: c.cpuAllocationRatio, memory: c.memoryAllocationRatio });
/** A host not heard from for six heartbeats takes no new placements. */
export const hostLiveSeconds = (c: Config) => c.heartbeatSeconds * 6;

/**
 * The dead-host verdict waits longer than an agent cut off from the control plane takes to fence
 * itself (and than a few missed heartbeats): a partitioned host has taken its instances off the
 * network before they are rebuilt elsewhere. A configuration that breaks this is refused.
 */
export function checkFencingTimes(c: Config): void {
  if (c.deadAfterSeconds < c.selfFenceSeconds + 2 * c.heartbeatSeconds) {
    throw new Error(`VCLOUD_DEAD_AFTER_SECONDS (${c.deadAfterSeconds}) must be at least VCLOUD_SELF_FENCE_SECONDS (${c.selfFenceSeconds}) plus two heartbeats (${2 * c.heartbeatSeconds})`);
  }
}
