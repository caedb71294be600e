/**
 * What the API answers, as zod schemas: the OpenAPI document's response schemas (api/openapi.ts) and
 * what the contract test checks every answer against. Objects are open (`passthrough`): a field added
 * to a view is not a break; a field documented here that changes type or goes missing is.
 */
import { z } from './zod';

const str = z.string();
const nstr = z.string().nullable();
const int = z.number().int();
/** A time, as JSON carries it. */
const time = z.string().openapi({ format: 'date-time' });
const ntime = time.nullable();
const open = <S extends z.ZodRawShape>(shape: S) => z.object(shape).passthrough();

export const Problem = open({
  type: str, title: str, status: int, detail: str,
  errors: z.array(open({ path: str, message: str })).optional(),
}).openapi('Problem', { description: 'RFC 9457 problem details' });

export const Instance = open({
  id: z.string().uuid(), name: str, hostname: nstr, ownerId: nstr, zone: str, kind: z.enum(['docker', 'kvm']),
  image: str, imageId: str, vcpus: int, memoryMb: int, diskGb: int, app: nstr, hostId: nstr, hostName: nstr,
  ip: nstr, mac: nstr, cpuset: z.array(int).nullable(), state: str, failure: nstr.optional(), createdAt: time, updatedAt: time,
}).openapi('Instance');

export const Operation = open({
  id: z.string().uuid(), type: str, state: z.enum(['running', 'succeeded', 'failed', 'cancelled']),
  instanceId: nstr, hostId: nstr, imageId: nstr, workflowId: str, temporalUiUrl: str,
  error: str.optional(), progress: z.unknown().optional(), result: z.unknown().optional(), createdAt: time, finishedAt: ntime,
}).openapi('Operation');

/** A 202: the operation that was started, with what it is about. */
export const Accepted = open({
  operation: Operation, instance: Instance.optional(), instances: z.array(Instance).optional(),
}).openapi('Accepted');

export const Resize = open({
  instance: Instance, operation: Operation,
  resize: open({ plan: z.enum(['live', 'cold', 'offline', 'migrate']), detail: str, from: z.unknown(), to: z.unknown() }),
}).openapi('ResizeAccepted');

export const Host = open({
  id: str, name: str, zone: str, state: str, vcpus: int, memoryMb: int, diskGb: int, usedVcpus: int, usedMemoryMb: int, usedDiskGb: int,
  kinds: z.array(str), numa: open({ nodes: z.array(z.unknown()) }), lastHeartbeatAt: ntime,
  fenceCommand: z.array(str).nullable(), fencedAt: ntime, fencedBy: nstr,
}).openapi('Host');

export const Image = open({
  id: z.string().uuid(), name: str, kind: z.enum(['tgz', 'docker']), location: str.optional(), digest: nstr,
  sizeBytes: z.number().nullable(), state: str, ownerId: nstr, visibility: z.enum(['private', 'public']),
}).openapi('Image');

export const Zone = open({ id: str, subnet: str, gateway: str, bridge: str, autoFailover: z.boolean() }).openapi('Zone');
export const NewZone = open({ id: str, subnet: str, gateway: str, bridge: str }).openapi('NewZone');
export const Pool = open({ id: str, zone: str, firstIp: str, lastIp: str, state: str }).openapi('Pool');
export const Address = open({ address: str, state: z.enum(['free', 'allocated', 'reserved', 'quarantined']), instanceId: nstr }).openapi('Address');
export const AddressState = open({ address: str, state: z.enum(['free', 'reserved']) }).openapi('AddressState');
export const User = open({ id: z.string().uuid(), name: str, role: z.enum(['admin', 'user']) }).openapi('User');
export const Token = open({ id: z.string().uuid(), createdAt: time, revokedAt: ntime }).openapi('Token');
export const NewToken = open({ id: z.string().uuid(), token: str }).openapi('NewToken', { description: 'the token, shown this once' });
export const Grant = open({
  zone: str, maxVcpus: int.nullable(), maxMemoryMb: int.nullable(), maxInstances: int.nullable(), usage: open({ instances: int, vcpus: int, memoryMb: int }),
}).openapi('Grant');
export const Me = open({ user: User, grants: z.array(Grant) }).openapi('Me');
export const GrantSet = open({ zone: str }).openapi('GrantSet');
export const Snapshot = open({ id: z.string().uuid(), instanceId: str, kind: str, state: str, location: nstr, digest: nstr, createdAt: time }).openapi('Snapshot');
export const SshKey = open({ id: z.string().uuid(), name: str, type: str, publicKey: str, fingerprint: str, createdAt: time }).openapi('SshKey');
export const Event = open({ id: z.union([str, int]), instanceId: nstr, hostId: nstr, kind: str, detail: nstr, at: time }).openapi('Event');
export const AuditEntry = open({ id: int, at: time, userId: nstr, userName: nstr, method: str, path: str, status: int.nullable() }).openapi('AuditEntry');
export const ActionEntry = open({
  operationId: z.string().uuid(), type: str, state: str, requestedBy: nstr, startedAt: time, finishedAt: ntime, workflowId: str,
  operatorActions: z.array(str),
}).openapi('ActionEntry');
export const HealthRun = open({ workflowId: nstr, at: time }).openapi('HealthRun');
export const ScrapeTarget = open({ targets: z.array(str), labels: z.record(str) }).openapi('ScrapeTarget');
export const Metrics = open({ range: str, step: str, series: z.record(z.unknown()) }).openapi('Metrics');
export const Health = z.object({ ok: z.literal(true) }).openapi('Health');

/** One page of a list: `next` is the cursor of the page after, null on the last. */
export const page = <T extends z.ZodTypeAny>(item: T) => z.object({ items: z.array(item), next: nstr });
