import path from 'node:path';
import { projectRoot } from '../../lib/config';
import { localDatabaseUrl } from '../../lib/database-url';

// The test platform: its own database, API port, control queue, zone and hosts, so it never
// touches what `npm run up` runs on the same machine.
export const DATA = process.env.VCLOUD_DATA_DIR ?? path.join(projectRoot, '.data');
export const TEST_DB_NAME = 'vcloud_test';
export const TEST_DB_URL = process.env.VCLOUD_TEST_DATABASE_URL ?? localDatabaseUrl(DATA, TEST_DB_NAME);
export const TEST_API_PORT = 18080;
export const TEST_API = `http://127.0.0.1:${TEST_API_PORT}`;
export const TEST_CONTROL_QUEUE = 'vcloud-control-test';
export const TEMPORAL_ADDRESS = process.env.VCLOUD_TEMPORAL_ADDRESS ?? '127.0.0.1:7233';
export const TEST_ZONE = { id: 'test', subnet: '10.214.0.0/24', gateway: '10.214.0.1', bridge: 'vctest0' };
export const TEST_POOL = ['10.214.0.10', '10.214.0.250'] as const;
export const HOST_A = { id: 'test-a', dockerSocket: '/var/run/docker.sock', libvirtUri: 'qemu:///system', peerAddress: '127.0.0.1:17601', metricsAddress: '127.0.0.1:19101' };
/** Host B: a second Docker engine with its own socket and data root, on the same zone bridge. */
export const HOST_B = {
  id: 'test-b', dockerSocket: path.join(DATA, 'docker-b.sock'), libvirtUri: `qemu+unix:///system?socket=${path.join(DATA, 'libvirt-b', 'run', 'libvirt-sock')}`,
  peerAddress: '127.0.0.1:17602', metricsAddress: '127.0.0.1:19102',
};
/** Fencing times of the test platform (heartbeat every 2 s): a host fences itself after 6 s cut off, is dead after 10. */
export const TEST_SELF_FENCE_SECONDS = 6;
export const TEST_DEAD_AFTER_SECONDS = 10;
export const TEST_HOST_WATCH_SCHEDULE = 'vcloud-host-watch-test';
export const TEST_IP_HEALTH_SCHEDULE = 'ip-pool-health-test';
export const TEST_RECONCILE_SCHEDULE = 'vcloud-reconcile-test';
export const TEST_STORAGE_GC_SCHEDULE = 'vcloud-storage-gc-test';
/** Where the monitoring test runs its own Prometheus (the API of the test platform reads it there). */
export const TEST_PROMETHEUS_ADDR = '127.0.0.1:19090';
/** The test platform's reconciler runs often and acts soon, so the tests see it work in seconds. */
export const TEST_RECONCILE_SECONDS = 5;
/** Where the tests put hold files (lib/test-holds.ts) to stop a process at a named step. */
export const TEST_HOLDS = path.join(DATA, 'test-holds');
export const TEST_RELEASE_AFTER = 2;
export const STATE_FILE = path.join(DATA, 'test-platform.json');
export const TEST_LOGS = path.join(DATA, 'logs', 'test');
/** The tests' own image store, emptied on each run: uploads, conversions and snapshots land here. */
export const TEST_STORE = path.join(DATA, 'test-images');
/** The upload cap of the test platform (8 GiB by default), small enough to cross in a test. */
export const TEST_MAX_UPLOAD_BYTES = 48 * 2 ** 20;
/** What the build made, read-only for the tests. */
export const BUILT_MANIFEST = path.join(DATA, 'images', 'manifest.json');

export function processEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  return {
    ...process.env,
    VCLOUD_DATABASE_URL: TEST_DB_URL,
    VCLOUD_API_PORT: String(TEST_API_PORT),
    VCLOUD_CONTROL_QUEUE: TEST_CONTROL_QUEUE,
    VCLOUD_TEMPORAL_ADDRESS: TEMPORAL_ADDRESS,
    VCLOUD_HEARTBEAT_SECONDS: '2',
    VCLOUD_HOST_SCHEDULE_TO_START_SECONDS: '20',
    VCLOUD_SOURCE_SCHEDULE_TO_START_SECONDS: '6',
    VCLOUD_LOG_LEVEL: 'info',
    VCLOUD_IMAGE_STORE_DIR: TEST_STORE,
    VCLOUD_MAX_IMAGE_UPLOAD_BYTES: String(TEST_MAX_UPLOAD_BYTES),
    VCLOUD_IP_HEALTH_SCHEDULE_ID: TEST_IP_HEALTH_SCHEDULE,
    VCLOUD_IP_HEALTH_INTERVAL_SECONDS: '3600',
    VCLOUD_IP_HEALTH_RELEASE_AFTER: String(TEST_RELEASE_AFTER),
    VCLOUD_RECONCILE_SCHEDULE_ID: TEST_RECONCILE_SCHEDULE,
    VCLOUD_RECONCILE_INTERVAL_SECONDS: String(TEST_RECONCILE_SECONDS),
    VCLOUD_OPERATION_GRACE_SECONDS: '5',
    VCLOUD_ORPHAN_GRACE_SECONDS: '5',
    VCLOUD_TEST_HOLDS_DIR: TEST_HOLDS,
    VCLOUD_SELF_FENCE_SECONDS: String(TEST_SELF_FENCE_SECONDS),
    VCLOUD_DEAD_AFTER_SECONDS: String(TEST_DEAD_AFTER_SECONDS),
    VCLOUD_HOST_WATCH_SCHEDULE_ID: TEST_HOST_WATCH_SCHEDULE,
    VCLOUD_HOST_WATCH_SECONDS: '2',
    VCLOUD_BUSY_SOURCE_WAIT_SECONDS: '120',
    VCLOUD_WATCHDOG_DIR: path.join(DATA, 'test-watchdog'),
    VCLOUD_STORAGE_GC_SCHEDULE_ID: TEST_STORAGE_GC_SCHEDULE,
    VCLOUD_PROMETHEUS_URL: `http://${TEST_PROMETHEUS_ADDR}`,
    ...extra,
  };
}
