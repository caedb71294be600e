import fs from 'node:fs';
import path from 'node:path';
import Docker from 'dockerode';
import { Connection } from '@temporalio/client';
import { createDb, migrateLatest, migrationConfig } from '../../db/connection';
import { addPool, upsertZone } from '../../db/zones';
import { createUser, issueToken } from '../../db/users';
import { seedBuiltImages, upsertImage } from '../../db/images';
import { unplumb } from '../../host/bridge-plumbing';
import { run } from '../../host/run';
import { BUILT_MANIFEST, DATA, HOST_A, HOST_B, TEMPORAL_ADDRESS, TEST_HOLDS, TEST_STORE, TEST_API, TEST_DB_URL, TEST_POOL, TEST_ZONE, STATE_FILE } from './env';
import { startProcess, stopAll } from './processes';

const fail = (what: string, err: unknown): never => {
  throw new Error(`the test platform needs ${what}, which is not available: ${String(err)}. Run the tests with \`npm test\`, which starts it.`);
};

export async function waitUntil(what: string, check: () => Promise<boolean>, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check().catch(() => false)) return;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

type TestHost = { id: string; dockerSocket: string; libvirtUri: string; peerAddress: string; metricsAddress: string };
/** While this file exists, the host's agent behaves as cut off from Postgres and Temporal (test only). */
export const partitionFile = (h: { id: string }) => path.join(DATA, `test-partition-${h.id}`);

const hostEnv = (h: TestHost, extra: Record<string, string> = {}) => ({
  VCLOUD_HOST_ID: h.id, VCLOUD_HOST_ZONE: TEST_ZONE.id, VCLOUD_DOCKER_SOCKET: h.dockerSocket,
  VCLOUD_LIBVIRT_URI: h.libvirtUri, VCLOUD_LIBVIRT_DOMAIN_TYPE: 'qemu', VCLOUD_AGENT_PEER_ADDRESS: h.peerAddress,
  VCLOUD_TEST_PARTITION_FILE: partitionFile(h), VCLOUD_AGENT_METRICS_ADDRESS: h.metricsAddress, VCLOUD_METRICS_INTERVAL_SECONDS: '2', ...extra,
});

/** A test host's agent: its own Docker engine and libvirt, TCG guests, the test zone, its peer address. */
export function startHostAgent(h: TestHost, extra: Record<string, string> = {}): number {
  return startProcess(h.id, 'host', hostEnv(h, extra));
}

/** The fence watchdog beside a test host's agent. */
export function startWatchdog(h: TestHost): number {
  return startProcess(`${h.id}-watchdog`, 'watchdog', hostEnv(h));
}

export default async function globalSetup(): Promise<void> {
  await stopAll();
  const db = createDb(TEST_DB_URL, { min: 0, max: 2 });
  try {
    await db.raw('select 1').catch((err) => fail('PostgreSQL with the vcloud_test database', err));
    const conn = await Connection.connect({ address: TEMPORAL_ADDRESS, connectTimeout: '5 seconds' }).catch((err) => fail('the Temporal server', err));
    await conn.close();
    const docker = new Docker({ socketPath: HOST_A.dockerSocket });
    await docker.ping().catch((err) => fail('the Docker engine', err));
    const dockerB = new Docker({ socketPath: HOST_B.dockerSocket });
    await dockerB.ping().catch((err) => fail("host B's Docker engine", err));
    if (!fs.existsSync(BUILT_MANIFEST)) fail('the built images', `${BUILT_MANIFEST} is missing`);

    // What an earlier, interrupted run left on the engines: containers of its instances.
    const hasTables = await db.schema.hasTable('instances');
    const oldIds: string[] = hasTables ? (await db('instances').pluck('id')) : [];
    const old = new Set(oldIds);
    for (const [engine, host] of [[docker, HOST_A], [dockerB, HOST_B]] as const) {
      for (const c of await engine.listContainers({ all: true, filters: { label: ['vcloud.instance'] } })) {
        const id = c.Labels['vcloud.instance'];
        if (old.has(id)) {
          await engine.getContainer(c.Id).remove({ force: true });
          await unplumb(id, host.id);
        }
      }
    }

    for (const h of [HOST_A, HOST_B]) {
      for (const id of oldIds) {
        await run('virsh', ['-c', h.libvirtUri, 'destroy', `vc-${id}`]).catch(() => undefined);
        await run('virsh', ['-c', h.libvirtUri, 'undefine', `vc-${id}`]).catch(() => undefined);
      }
    }
    fs.rmSync(path.join(DATA, 'disks', HOST_A.id), { recursive: true, force: true });
    fs.rmSync(path.join(DATA, 'disks', HOST_B.id), { recursive: true, force: true });

    // Down then up: the rollback is tested on every run, and each run starts empty. A database a
    // newer checkout migrated (files this one lacks) cannot be rolled back by this one: it starts over.
    await db.migrate.rollback(migrationConfig, true).catch(async (err) => {
      if (!/migration directory is corrupt/.test(String(err))) throw err;
      await db.raw('drop schema public cascade; create schema public');
    });
    await migrateLatest(db);

    if (!(await run('ip', ['-4', 'addr', 'show', 'dev', TEST_ZONE.bridge]).catch(() => '')).includes(`${TEST_ZONE.gateway}/24`)) {
      await run('ip', ['link', 'add', 'name', TEST_ZONE.bridge, 'type', 'bridge']).catch(() => undefined);
      await run('ip', ['addr', 'add', `${TEST_ZONE.gateway}/24`, 'dev', TEST_ZONE.bridge]);
    }
    await run('ip', ['link', 'set', TEST_ZONE.bridge, 'up']);

    await upsertZone(db, TEST_ZONE);
    await addPool(db, TEST_ZONE, TEST_POOL[0], TEST_POOL[1]);
    const admin = await createUser(db, 'admin', 'admin');
    const { token } = await issueToken(db, admin.id);
    fs.writeFileSync(path.join(DATA, 'test-admin-token'), token, { mode: 0o600 });
    // The test store starts with hard links to the built templates and nothing else.
    fs.rmSync(TEST_STORE, { recursive: true, force: true });
    fs.mkdirSync(TEST_STORE, { recursive: true });
    const manifest = JSON.parse(fs.readFileSync(BUILT_MANIFEST, 'utf8'));
    for (const entry of [manifest.tgz, manifest.vm, manifest.debianVm].filter(Boolean)) {
      const linked = path.join(TEST_STORE, path.basename(entry.location));
      fs.linkSync(entry.location, linked);
      entry.location = linked;
    }
    await seedBuiltImages(db, manifest);
    // Registered but never pushed: a create from it must fail on the host and leave nothing.
    await upsertImage(db, { name: 'ghost', kind: 'docker', location: manifest.docker.location.replace(/\/busybox:1$/, '/ghost:1'), digest: null, boot: null });
  } finally {
    await db.destroy();
  }

  fs.rmSync(TEST_HOLDS, { recursive: true, force: true });
  fs.mkdirSync(TEST_HOLDS, { recursive: true });
  fs.writeFileSync(STATE_FILE, '{}');
  startProcess('api', 'api');
  startProcess('control-worker', 'control-worker');
  fs.rmSync(path.join(DATA, 'test-watchdog'), { recursive: true, force: true });
  for (const h of [HOST_A, HOST_B]) {
    startHostAgent(h);
    startWatchdog(h);
  }

  await waitUntil('the API', async () => (await fetch(`${TEST_API}/healthz`)).ok);
  const check = createDb(TEST_DB_URL, { min: 0, max: 1 });
  try {
    await waitUntil('hosts test-a and test-b to register', async () =>
      (await check('hosts').whereIn('id', [HOST_A.id, HOST_B.id]).whereRaw("'docker' = any(kinds)")).length === 2);
    await waitUntil('hosts test-a and test-b to offer VMs', async () =>
      (await check('hosts').whereIn('id', [HOST_A.id, HOST_B.id]).whereRaw("'kvm' = any(kinds)")).length === 2);
  } finally {
    await check.destroy();
  }
}
