import crypto from 'node:crypto';
import fs from 'node:fs';
import fc from 'fast-check';
import type { Knex } from 'knex';
import { apiClient, testDb, waitForOperation, type ApiClient } from '../helpers/platform';
import { BUILT_MANIFEST } from '../helpers/env';
import { openapi } from '../../api/openapi';
import { createUser, issueToken } from '../../db/users';
import { putGrant } from '../../db/grants';
import { run } from '../../host/run';

/**
 * Random valid and invalid requests to every route of the OpenAPI document, as an admin, as a user
 * and as nobody: never a 5xx, and a 4xx changes nothing in the database. Valid values point into a
 * sandbox of the test's own (a zone with no host on a bridge it makes, a user, an image, a failed
 * instance), so what succeeds cannot disturb the platform, and the sandbox is removed after: a fake
 * host would leave the reconciler and the host watch waiting on a queue nobody serves. Host routes
 * get ids that name no host. VCLOUD_FUZZ_RUNS sets the number of requests (150 in CI; the README
 * says how to run it longer).
 */
const RUNS = Number(process.env.VCLOUD_FUZZ_RUNS ?? 150);
const TABLES = ['instances', 'operations', 'ip_addresses', 'ip_pools', 'zones', 'zone_grants', 'images', 'users', 'api_tokens',
  'snapshots', 'idempotency_keys', 'instance_transitions'];
const BRIDGE = 'vcfuzz0';

type Route = { method: string; template: string };
const routes: Route[] = Object.entries(openapi.paths as Record<string, Record<string, unknown>>).flatMap(([template, ops]) =>
  Object.keys(ops).filter((m) => m !== 'parameters').map((m) => ({ method: m.toUpperCase(), template })));

describe('fuzz: random requests to every route', () => {
  let db: Knex;
  let admin: ApiClient;
  let user: ApiClient;
  const ids: Record<string, string[]> = {};
  let zonesBefore: string[] = [];

  /** A digest of every table a request could change (the audit log records each one by design). */
  async function fingerprint(): Promise<string> {
    const parts = await Promise.all(TABLES.map(async (t) =>
      (await db.raw(`select md5(coalesce(string_agg(md5(r::text), '' order by md5(r::text)), '')) as h from ${t} r`)).rows[0].h as string));
    return parts.join(':');
  }

  beforeAll(async () => {
    db = testDb();
    admin = apiClient();
    zonesBefore = await db('zones').pluck('id');
    await run('ip', ['link', 'add', 'name', BRIDGE, 'type', 'bridge']).catch(() => '');
    expect((await admin.post('/v1/zones', { id: 'fuzz', subnet: '10.230.0.0/24', gateway: '10.230.0.1', bridge: BRIDGE })).status).toBe(201);
    const pool = await admin.post('/v1/zones/fuzz/pools', { firstIp: '10.230.0.10', lastIp: '10.230.0.20' });
    const u = await createUser(db, 'fuzz-user', 'user');
    await putGrant(db, u.id, 'fuzz', { maxVcpus: 8, maxMemoryMb: 8192, maxInstances: 4 });
    const token = await issueToken(db, u.id);
    user = apiClient(token.token);
    const manifest = JSON.parse(fs.readFileSync(BUILT_MANIFEST, 'utf8'));
    const image = await admin.post('/v1/images', { name: 'fuzz-img', kind: 'docker', reference: manifest.docker.location });
    const instanceId = crypto.randomUUID();
    await db('instances').insert({
      id: instanceId, name: 'fuzz-failed', owner_id: u.id, zone_id: 'fuzz', kind: 'docker', image_id: image.body.id,
      vcpus: 1, memory_mb: 64, disk_gb: 1, state: 'failed', failure: 'made by the fuzz test', hostname: 'fuzz-failed',
    });
    Object.assign(ids, {
      id: [instanceId, 'fuzz', 'fuzz-h1', pool.body.id, u.id, image.body.id, 'fuzz-img'], snapshotId: [crypto.randomUUID()],
      tokenId: [token.id], zone: ['fuzz'], address: ['10.230.0.12', '10.230.0.99'],
    });
  }, 120_000);

  // The sandbox goes, and every zone the requests made with it: nothing of it may stay for the
  // reconciler, the host watch or the IP-pool health check to work on.
  afterAll(async () => {
    const zones = (await db('zones').pluck('id')).filter((z: string) => !zonesBefore.includes(z));
    const instances = db('instances').whereIn('zone_id', zones).select('id');
    await db('ip_addresses').whereIn('zone_id', zones).delete();
    await db('snapshots').whereIn('instance_id', instances).delete();
    await db('stale_copies').whereIn('instance_id', instances).delete();
    await db('operations').whereIn('instance_id', instances).delete();
    await db('instances').whereIn('zone_id', zones).delete();
    for (const t of ['ip_pools', 'zone_grants', 'ip_health_runs']) await db(t).whereIn('zone_id', zones).delete();
    await db('zones').whereIn('id', zones).delete();
    await run('ip', ['link', 'del', BRIDGE]).catch(() => '');
    await db.destroy();
  }, 60_000);

  /** Built once the sandbox exists: its ids are the valid values. */
  function requests() {
    const junk = fc.oneof(
      fc.string({ maxLength: 40 }), fc.uuid(), fc.constantFrom('..', '../../etc/passwd', '%00', 'a'.repeat(300), '-1', '0', ' ', '😀'),
    );
    const param = (name: string) => fc.oneof({ weight: 3, arbitrary: fc.constantFrom(...(ids[name] ?? ids.id)) }, { weight: 2, arbitrary: junk });
    // Bodies: plausible ones (each field valid or not) and any JSON at all.
    const plausible = fc.record({
      name: fc.oneof(fc.constantFrom('fuzz-a', 'fuzz-b'), junk), zone: fc.oneof(fc.constant('fuzz'), junk), kind: fc.constantFrom('docker', 'kvm', 'tgz', 'lxc'),
      image: fc.oneof(fc.constant('fuzz-img'), junk), vcpus: fc.oneof(fc.integer({ min: -2, max: 80 }), junk), memoryMb: fc.oneof(fc.integer({ min: 0, max: 1 << 20 }), junk),
      action: fc.constantFrom('start', 'stop', 'pause', 'resume', 'reboot', 'explode'), snapshot: fc.constantFrom('latest', 'none', 'yesterday'),
      state: fc.constantFrom('enabled', 'draining', 'disabled', 'gone'), role: fc.constantFrom('admin', 'user', 'root'), reserved: fc.boolean(),
      firstIp: fc.constantFrom('10.230.0.30', '10.230.0.5', 'ten'), lastIp: fc.constantFrom('10.230.0.40', '10.230.1.5'), to: fc.constantFrom('tgz', 'docker', 'iso'),
      maxVcpus: fc.integer({ min: -1, max: 10 }), maxMemoryMb: fc.integer({ min: 0, max: 4096 }), maxInstances: fc.integer({ min: 0, max: 5 }),
      subnet: fc.constantFrom('10.233.0.0/24', '10.230.0.0/25', '300.1.1.0/24'), gateway: fc.constantFrom('10.233.0.1', '10.9.9.9'), bridge: fc.constantFrom('vcfuzz1', 'x'.repeat(20)),
      id: fc.oneof(fc.constantFrom('fuzz-z1', 'fuzz'), junk), autoFailover: fc.boolean(), fenced: fc.constantFrom(true, false), concurrency: fc.integer({ min: -1, max: 60 }),
      reference: fc.constantFrom('127.0.0.1:5000/vcloud/nothing:1', 'docker.io/library/busybox', 'Not A Ref'),
    }, { requiredKeys: [] });
    const request = fc.record({
      route: fc.constantFrom(...routes),
      who: fc.constantFrom('admin', 'user', 'nobody'),
      body: fc.oneof({ weight: 3, arbitrary: plausible }, { weight: 1, arbitrary: fc.jsonValue() }),
      query: fc.dictionary(fc.constantFrom('limit', 'cursor', 'state', 'all', 'user', 'since', 'type', 'instance', 'name', 'kind'), fc.oneof(fc.constantFrom('1', '5000', 'true', 'free', 'WyJ4IiwieSJd', 'WyJ4Il0'), junk), { maxKeys: 2 }),
      params: fc.record({ id: param('id'), snapshotId: param('snapshotId'), tokenId: param('tokenId'), zone: param('zone'), address: param('address') }),
    });
    return request;
  }

  test(`${RUNS} random requests: no 5xx, and no 4xx changes the database`, async () => {
    const seen = new Map<string, number>();
    await fc.assert(fc.asyncProperty(requests(), async (r) => {
      const path = r.route.template.replace(/\{(\w+)\}/g, (_m, name: string) => encodeURIComponent((r.params as Record<string, string>)[name] ?? 'x'));
      const query = new URLSearchParams(r.query).toString();
      const url = `${path}${query ? `?${query}` : ''}`;
      const client = r.who === 'admin' ? admin : r.who === 'user' ? user : apiClient(null);
      const before = await fingerprint();
      const res = await client.raw(r.route.method, url, ['GET', 'DELETE'].includes(r.route.method) ? undefined : r.body);
      seen.set(`${r.route.method} ${r.route.template}`, (seen.get(`${r.route.method} ${r.route.template}`) ?? 0) + 1);
      // A monitoring route with no Prometheus running (as here) is a 503 by design: the service is down, not the request wrong.
      const monitoringDown = res.status === 503 && /monitoring is unavailable/.test(JSON.stringify(res.body));
      if (res.status >= 500 && !monitoringDown) throw new Error(`${r.who} ${r.route.method} ${url} ${JSON.stringify(r.body)} -> ${res.status} ${JSON.stringify(res.body)}`);
      if (res.status >= 400) {
        const after = await fingerprint();
        if (after !== before) throw new Error(`${r.who} ${r.route.method} ${url} ${JSON.stringify(r.body)} -> ${res.status} changed the database`);
      }
      // What it started ends before the next request compares the database.
      const op = (res.body as { operation?: { id?: string } } | null)?.operation?.id;
      if (res.status < 300 && op) await waitForOperation(admin, op, 120_000);
    }), { numRuns: RUNS, interruptAfterTimeLimit: 10 * 60_000, endOnFailure: true });
    // Every route was asked at least once, for a run of this size.
    if (RUNS >= 150) expect(seen.size).toBeGreaterThan(routes.length * 0.8);
  }, 15 * 60_000);
});
