/**
 * Every route of the API with the zod schemas its handler validates with (path, query, body) and the ones its
 * answers follow: the one source the OpenAPI document (api/openapi.ts) is generated from. A unit test checks
 * that the express app and this list have the same routes; the contract test calls them and checks each
 * answer against the document.
 */
import { z } from './zod';
import * as R from './responses';
import * as S from '../schemas';

export type Method = 'get' | 'post' | 'put' | 'patch' | 'delete';
/** Who may call it: anyone, any user with a token, or an admin. */
export type Access = 'public' | 'user' | 'admin';

export interface RouteSpec {
  method: Method;
  /** In OpenAPI's form: `/v1/instances/{id}`. */
  path: string;
  summary: string;
  access: Access;
  query?: z.AnyZodObject;
  body?: z.ZodTypeAny;
  /** Another request body than JSON (an image upload). */
  rawBody?: { media: string; description: string };
  /** Success answers: status, what the body is (none for a 204). */
  ok: Record<number, { description: string; schema?: z.ZodTypeAny; media?: string }>;
  /** Problem answers beyond those every route of its access has. */
  problems?: number[];
}

const idempotent = 'with an Idempotency-Key header, a retry answers what the first request did';
const accepted = (what: string, schema: z.ZodTypeAny = R.Accepted) => ({ 202: { description: `accepted: ${what}; the operation runs as a Temporal workflow`, schema } });
const ok = (description: string, schema?: z.ZodTypeAny) => ({ 200: { description, schema } });
const created = (description: string, schema: z.ZodTypeAny) => ({ 201: { description, schema } });
const noContent = (description: string) => ({ 204: { description } });
const list = (what: string, item: z.ZodTypeAny) => ok(`one page of ${what}: {items, next}`, R.page(item));

export const ROUTES: RouteSpec[] = [
  { method: 'get', path: '/healthz', summary: 'liveness and the database check', access: 'public', ok: ok('ok', R.Health), problems: [503] },
  { method: 'get', path: '/openapi.json', summary: 'this document', access: 'public', ok: ok('the OpenAPI 3.1 document', z.record(z.unknown())) },
  { method: 'get', path: '/metrics', summary: 'the API\'s own Prometheus metrics (admin)', access: 'admin', ok: { 200: { description: 'Prometheus text format', schema: z.string(), media: 'text/plain' } } },

  // Instances and their operations.
  { method: 'post', path: '/v1/instances', summary: `create an instance, or with count a batch (name-1 ... name-n) as one parent operation; ${idempotent}`, access: 'user',
    body: S.createInstanceBody, ok: accepted('{instance, operation}, or a batch\'s {instances, operation}') },
  { method: 'get', path: '/v1/instances', summary: 'the caller\'s instances (an admin\'s: all), newest first', access: 'user', query: S.instancesQuery, ok: list('instances', R.Instance) },
  { method: 'get', path: '/v1/instances/{id}', summary: 'an instance', access: 'user', ok: ok('the instance', R.Instance) },
  { method: 'delete', path: '/v1/instances/{id}', summary: `delete an instance (a repairing one ends deleted through its repair); ${idempotent}`, access: 'user', ok: accepted('{instance, operation}') },
  { method: 'post', path: '/v1/instances/{id}/actions', summary: 'start, stop, pause, resume or reboot', access: 'user', body: S.actionBody, ok: accepted('{instance, operation}') },
  { method: 'get', path: '/v1/instances/{id}/actions', summary: 'the instance\'s action log: its operations, who asked, how they ended, what operators did to their workflows', access: 'user', query: S.pageQuery, ok: list('operations', R.ActionEntry) },
  { method: 'get', path: '/v1/instances/{id}/events', summary: 'what the reconciler and repairs found and did to the instance, newest first', access: 'user', query: S.pageQuery, ok: list('events', R.Event) },
  { method: 'post', path: '/v1/instances/{id}/resize', summary: 'resize; resize.plan says how: live, cold (a running VM powered off, changed, started), offline (a stopped instance) or migrate (no room on its host and allowMigrate: moved at the new size to a host that fits, same IP and MAC); a disk never shrinks', access: 'user',
    body: S.resizeBody, ok: accepted('{instance, resize: {plan, detail, from, to}, operation}', R.Resize) },
  { method: 'post', path: '/v1/instances/{id}/migrate', summary: 'move to another host (same IP and MAC), from a snapshot: "latest" (fresh), "none" or an id; host: admin only', access: 'user', body: S.migrateBody, ok: accepted('{instance, operation}') },
  { method: 'get', path: '/v1/instances/{id}/snapshots', summary: 'snapshots of the instance, newest first', access: 'user', query: S.pageQuery, ok: list('snapshots', R.Snapshot) },
  { method: 'post', path: '/v1/instances/{id}/snapshots', summary: 'take a snapshot', access: 'user', body: S.emptyBody, ok: accepted('{snapshot, operation}') },
  { method: 'delete', path: '/v1/instances/{id}/snapshots/{snapshotId}', summary: 'delete a snapshot and its data', access: 'user', ok: noContent('deleted') },
  { method: 'get', path: '/v1/instances/{id}/metrics', summary: 'the instance\'s CPU, memory, disk and network series, from Prometheus', access: 'user', query: S.metricsQuery, ok: ok('{instanceId, range, step, series}', R.Metrics), problems: [503] },
  { method: 'get', path: '/v1/operations', summary: 'operations, newest first: an admin\'s all; a user\'s, those they asked for or on their instances', access: 'user', query: S.operationsQuery, ok: list('operations', R.Operation) },
  { method: 'get', path: '/v1/operations/{id}', summary: 'an operation, with its progress and its Temporal UI link', access: 'user', ok: ok('the operation', R.Operation) },

  // Images.
  { method: 'get', path: '/v1/images', summary: 'images by name: the public ones and the caller\'s own (an admin\'s: all)', access: 'user', query: S.imagesQuery, ok: list('images', R.Image) },
  { method: 'post', path: '/v1/images', summary: 'any user: {name, fromSnapshot} makes an image of theirs from one of their snapshots (202); an admin: {name, kind: "docker", reference} registers a registry image, or a tgz body with ?name=&kind=tgz uploads a template (201)', access: 'user',
    body: z.union([S.imageFromSnapshotBody, S.registerDockerImageBody]), query: S.uploadQuery.partial(),
    rawBody: { media: 'application/gzip', description: 'a root filesystem tarball (admin; with ?name=&kind=tgz)' },
    ok: { ...created('the image', R.Image), ...accepted('{image, operation}') }, problems: [403, 413] },
  { method: 'get', path: '/v1/images/{id}', summary: 'an image, by id or name', access: 'user', ok: ok('the image', R.Image) },
  { method: 'patch', path: '/v1/images/{id}', summary: 'set its visibility (admin)', access: 'admin', body: S.patchImageBody, ok: ok('the image', R.Image) },
  { method: 'delete', path: '/v1/images/{id}', summary: 'delete an image (its owner or an admin); 409 while in use', access: 'user', ok: noContent('deleted') },
  { method: 'post', path: '/v1/images/{id}/convert', summary: 'convert to the other kind (its owner or an admin)', access: 'user', body: S.convertBody, ok: accepted('{image, operation}') },

  // SSH keys.
  { method: 'get', path: '/v1/users/{id}/keys', summary: 'a user\'s SSH public keys (`me` for the caller; an admin: anyone\'s)', access: 'user', query: S.pageQuery, ok: list('keys', R.SshKey) },
  { method: 'post', path: '/v1/users/{id}/keys', summary: 'register an SSH public key (ed25519, ecdsa, or rsa of at least 2048 bits)', access: 'user', body: S.sshKeyBody, ok: created('the key', R.SshKey) },
  { method: 'delete', path: '/v1/users/{id}/keys/{keyId}', summary: 'forget a key (instances made with it keep it)', access: 'user', ok: noContent('forgotten') },

  // Zones, pools and addresses.
  { method: 'get', path: '/v1/zones', summary: 'zones, by id', access: 'user', query: S.pageQuery, ok: list('zones', R.Zone) },
  { method: 'post', path: '/v1/zones', summary: 'create a zone', access: 'admin', body: S.createZoneBody, ok: created('the zone', R.NewZone) },
  { method: 'patch', path: '/v1/zones/{id}', summary: 'set automatic failover of its dead hosts', access: 'admin', body: S.patchZoneBody, ok: ok('the zone', R.Zone) },
  { method: 'get', path: '/v1/zones/{id}/pools', summary: 'a zone\'s pools', access: 'admin', query: S.pageQuery, ok: list('pools', R.Pool) },
  { method: 'post', path: '/v1/zones/{id}/pools', summary: 'add a pool', access: 'admin', body: S.createPoolBody, ok: created('the pool', R.Pool) },
  { method: 'get', path: '/v1/zones/{id}/metrics', summary: 'the sums over the zone\'s instances', access: 'admin', query: S.metricsQuery, ok: ok('{zoneId, range, step, series}', R.Metrics), problems: [503] },
  { method: 'patch', path: '/v1/pools/{id}', summary: 'grow a pool', access: 'admin', body: S.growPoolBody, ok: ok('the pool, with the addresses added', R.Pool) },
  { method: 'get', path: '/v1/pools/{id}/addresses', summary: 'addresses and their states, in address order', access: 'admin', query: S.addressesQuery, ok: list('addresses', R.Address) },
  { method: 'put', path: '/v1/pools/{id}/addresses/{address}', summary: 'reserve or free an address', access: 'admin', body: S.reserveAddressBody, ok: ok('its state', R.AddressState) },

  // Hosts.
  { method: 'get', path: '/v1/hosts', summary: 'hosts, by id, with capacity, state and heartbeat', access: 'admin', query: S.pageQuery, ok: list('hosts', R.Host) },
  { method: 'patch', path: '/v1/hosts/{id}', summary: 'set its state or fence command', access: 'admin', body: S.patchHostBody, ok: ok('the host', R.Host) },
  { method: 'get', path: '/v1/hosts/{id}/events', summary: 'what the reconciler found and did on the host, newest first', access: 'admin', query: S.pageQuery, ok: list('events', R.Event) },
  { method: 'post', path: '/v1/hosts/{id}/evacuate', summary: 'move every instance off the host (fenced: the admin says it is powered off)', access: 'admin', body: S.evacuateBody, ok: accepted('{host, operation}') },
  { method: 'post', path: '/v1/hosts/{id}/restore', summary: 'bring the instances an evacuation moved back to their host', access: 'admin', body: S.restoreBody, ok: accepted('{host, operation}') },
  { method: 'get', path: '/v1/hosts/{id}/metrics', summary: 'the sums over the host\'s instances', access: 'admin', query: S.metricsQuery, ok: ok('{hostId, range, step, series}', R.Metrics), problems: [503] },

  // Users, tokens and grants.
  { method: 'get', path: '/v1/me', summary: 'who the token is, with their zone grants and what each holds now (an admin has no grants: no limits)', access: 'user', ok: ok('{user, grants}', R.Me) },
  { method: 'get', path: '/v1/users', summary: 'users, by name', access: 'admin', query: S.pageQuery, ok: list('users', R.User) },
  { method: 'post', path: '/v1/users', summary: 'create a user', access: 'admin', body: S.createUserBody, ok: created('the user', R.User) },
  { method: 'get', path: '/v1/users/{id}', summary: 'a user, by id or name', access: 'admin', ok: ok('the user', R.User) },
  { method: 'get', path: '/v1/users/{id}/tokens', summary: 'the user\'s tokens, without their values', access: 'admin', query: S.pageQuery, ok: list('tokens', R.Token) },
  { method: 'post', path: '/v1/users/{id}/tokens', summary: 'issue a token, shown once', access: 'admin', ok: created('the token', R.NewToken) },
  { method: 'delete', path: '/v1/users/{id}/tokens/{tokenId}', summary: 'revoke a token', access: 'admin', ok: noContent('revoked') },
  { method: 'get', path: '/v1/users/{id}/grants', summary: 'the user\'s zone grants with their usage', access: 'admin', query: S.pageQuery, ok: list('grants', R.Grant) },
  { method: 'put', path: '/v1/users/{id}/grants/{zone}', summary: 'set a zone grant', access: 'admin', body: S.grantBody, ok: ok('the grant', R.GrantSet) },

  // The platform's own runs and records.
  { method: 'post', path: '/v1/ip-health/checks', summary: 'run the IP-pool health check now', access: 'admin', ok: accepted('{operation}') },
  { method: 'get', path: '/v1/ip-health/runs', summary: 'findings of the health check runs, newest first', access: 'admin', query: S.runsQuery, ok: list('runs', R.HealthRun) },
  { method: 'post', path: '/v1/storage/gc', summary: 'collect the registry\'s and the image store\'s unnamed data now', access: 'admin', ok: accepted('{operation}') },
  { method: 'get', path: '/v1/monitoring/targets', summary: 'Prometheus HTTP service discovery: the agents that serve metrics', access: 'admin', ok: ok('the targets', z.array(R.ScrapeTarget)) },
  { method: 'get', path: '/v1/audit', summary: 'every mutating request, newest first', access: 'admin', query: S.auditQuery, ok: list('requests', R.AuditEntry) },
];

/** The problems every route of an access level may answer (a route adds its own). */
export function problemsOf(r: RouteSpec): number[] {
  const base = r.access === 'public' ? [] : r.access === 'admin' ? [401, 403] : [401];
  const input = r.body || r.query || r.path.includes('{') ? [400] : [];
  const found = r.path.includes('{') ? [404] : [];
  const changes = r.method !== 'get' && r.access !== 'public' ? [409, 422] : [];
  return [...new Set([...base, ...input, ...found, ...changes, ...(r.problems ?? [])])].sort();
}
