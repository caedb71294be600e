import fs from 'node:fs';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import type { Knex } from 'knex';
import { createDb } from '../../db/connection';
import { inCidr } from '../../lib/net';
import { createVcloudClient, ok, type Schemas } from '../../client';
import { run } from '../../host/run';
import { DATA, TEMPORAL_ADDRESS, TEST_API, TEST_DB_URL, TEST_ZONE } from './env';
import { waitUntil } from './global-setup';

export { waitUntil };

export interface ApiAnswer<T = any> { status: number; body: T; contentType: string }

export function adminToken(): string {
  return fs.readFileSync(path.join(DATA, 'test-admin-token'), 'utf8').trim();
}

/** A client of the test API; `base` names another API process of the same platform. */
export function apiClient(token: string | null = adminToken(), base = TEST_API) {
  const call = async (method: string, url: string, body?: unknown, headers: Record<string, string> = {}): Promise<ApiAnswer> => {
    const res = await fetch(`${base}${url}`, {
      method,
      headers: {
        ...(token ? { authorization: `Bearer ${token}` } : {}),
        ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
        ...headers,
      },
      body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
    });
    const text = await res.text();
    let parsed: unknown = text;
    try { parsed = JSON.parse(text); } catch { /* not JSON */ }
    return { status: res.status, body: parsed, contentType: res.headers.get('content-type') ?? '' };
  };
  return {
    authorization: token ? `Bearer ${token}` : '',
    /** The typed client (client/) with the same token: what the helpers below use. */
    typed: createVcloudClient({ url: base, token }),
    get: (url: string) => call('GET', url),
    post: (url: string, body?: unknown, headers?: Record<string, string>) => call('POST', url, body, headers),
    del: (url: string, headers?: Record<string, string>) => call('DELETE', url, undefined, headers),
    raw: call,
  };
}
export type ApiClient = ReturnType<typeof apiClient>;

export async function waitForOperation(api: ApiClient, operationId: string, timeoutMs = 120_000): Promise<any> {
  let last: Schemas['Operation'] | undefined;
  await waitUntil(`operation ${operationId}`, async () => {
    last = ok(await api.typed.GET('/v1/operations/{id}', { params: { path: { id: operationId } } }));
    return last.state !== 'running';
  }, timeoutMs);
  return last;
}

/** Deletes each instance that is still there and waits for each delete to end; what each ended as. */
export async function deleteInstances(api: ApiClient, ids: string[]): Promise<string[]> {
  const states: string[] = [];
  for (const id of ids) {
    const res = await api.typed.DELETE('/v1/instances/{id}', { params: { path: { id } } });
    states.push(res.data ? (await waitForOperation(api, res.data.operation.id)).state : `not deleted (${res.response.status})`);
  }
  return states;
}

export function testDb(): Knex {
  return createDb(TEST_DB_URL, { min: 0, max: 4 });
}

export async function temporalClient(): Promise<{ client: Client; close: () => Promise<void> }> {
  const connection = await Connection.connect({ address: TEMPORAL_ADDRESS });
  return { client: new Client({ connection }), close: () => connection.close() };
}

/** One ICMP echo, only ever to an address of the test zone: tests send nothing anywhere else. */
export async function pings(ip: string): Promise<boolean> {
  if (!inCidr(ip, TEST_ZONE.subnet)) throw new Error(`refusing to ping ${ip}: outside the test zone`);
  return run('ping', ['-c', '1', '-W', '1', '-I', TEST_ZONE.bridge, ip], 5000).then(() => true, () => false);
}

/** No address may have two owners, and each allocated address is its instance's. */
export async function assertAddressInvariants(db: Knex): Promise<void> {
  const mismatched = await db('ip_addresses as a').join('instances as i', 'i.id', 'a.instance_id')
    .whereRaw('i.ip is distinct from a.address').select('a.address', 'i.id', 'i.ip');
  if (mismatched.length) throw new Error(`addresses disagree with their instances: ${JSON.stringify(mismatched)}`);
  const doubled = await db('instances').whereNotIn('state', ['deleted', 'failed']).whereNotNull('ip')
    .groupBy('ip').havingRaw('count(*) > 1').select('ip');
  if (doubled.length) throw new Error(`addresses with two live owners: ${JSON.stringify(doubled)}`);
}

export const createBody = (name: string, extra: Record<string, unknown> = {}) => ({
  name, zone: TEST_ZONE.id, kind: 'docker', image: 'busybox', vcpus: 1, memoryMb: 64, ...extra,
});

/** Ids the DB-level tests build rows from: the busybox image and the admin. */
export async function seedIds(db: Knex): Promise<{ imageId: string; adminId: string }> {
  const imageId = (await db('images').where({ name: 'busybox' }).first()).id;
  const adminId = (await db('users').where({ name: 'admin' }).first()).id;
  return { imageId, adminId };
}
