import { z } from './contract/zod';
import { isIpv4, DNS_LABEL } from '../lib/net';
import { DEFAULT_PAGE_LIMIT, MAX_PAGE_LIMIT } from '../db/page';

const dnsLabel = z.string().max(63).regex(DNS_LABEL, 'must be a DNS label: lowercase letters, digits and hyphens, at most 63');
/** An image is named by its id or its name; registry references are for image registration. */
const imageName = z.string().min(1).max(128).regex(/^[a-z0-9][a-z0-9._-]*$/, 'must be an image id or name');

/** The most instances one batch create makes. */
export const MAX_BATCH = 20;

export const createInstanceBody = z.object({
  name: dnsLabel,
  zone: dnsLabel,
  kind: z.enum(['docker', 'kvm']),
  image: imageName,
  vcpus: z.number().int().min(1).max(64),
  memoryMb: z.number().int().min(16).max(512 * 1024),
  diskGb: z.number().int().min(1).max(4096).optional(),
  app: dnsLabel.optional(),
  host: dnsLabel.optional(),
  ip: z.string().refine(isIpv4, 'must be an IPv4 address').optional(),
  /** A batch: `name-1` ... `name-<count>`, one parent operation; `atomic`: all or nothing. */
  count: z.number().int().min(1).max(MAX_BATCH).optional(),
  atomic: z.boolean().optional(),
  /** The caller's SSH keys (names or ids) installed for root by the platform. */
  keys: z.array(z.string().min(1).max(64)).min(1).max(16).optional(),
}).strict()
  .refine((b) => b.count === undefined || b.ip === undefined, { message: 'a batch cannot share one address', path: ['ip'] })
  .refine((b) => b.atomic === undefined || b.count !== undefined, { message: 'only a batch (count) is atomic or not', path: ['atomic'] })
  .refine((b) => b.count === undefined || b.name.length + 1 + String(b.count).length <= 63, { message: 'name-<count> must fit 63 characters', path: ['name'] });
export type CreateInstanceBody = z.infer<typeof createInstanceBody>;

export const uuidParam = z.string().uuid('must be a UUID');

/** A Docker registry reference: [host[:port]/]path[:tag][@sha256:digest], lowercase path. */
export const registryReference = z.string().max(255).regex(
  /^(?:[a-zA-Z0-9.-]+(?::\d{1,5})?\/)?[a-z0-9]+(?:[._-][a-z0-9]+)*(?:\/[a-z0-9]+(?:[._-][a-z0-9]+)*)*(?::[\w][\w.-]{0,127})?(?:@sha256:[a-f0-9]{64})?$/,
  'must be a registry reference like 127.0.0.1:5000/team/app:tag',
);

const ipv4 = z.string().refine(isIpv4, 'must be an IPv4 address');
const bridgeName = z.string().regex(/^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,14}$/, 'must be a Linux interface name (at most 15 characters)');

export const createUserBody = z.object({ name: dnsLabel, role: z.enum(['admin', 'user']) }).strict();
export const grantBody = z.object({
  maxVcpus: z.number().int().min(1).max(100000),
  maxMemoryMb: z.number().int().min(16).max(1 << 30),
  maxInstances: z.number().int().min(1).max(100000),
  maxDiskGb: z.number().int().min(1).max(1 << 20).optional(),
  maxSnapshots: z.number().int().min(0).max(100000).optional(),
  maxSnapshotGb: z.number().int().min(0).max(1 << 20).optional(),
}).strict();
export const createZoneBody = z.object({
  id: dnsLabel,
  subnet: z.string().regex(/^\d{1,3}(\.\d{1,3}){3}\/\d{1,2}$/, 'must be an IPv4 CIDR'),
  gateway: ipv4,
  bridge: bridgeName,
}).strict();
export const createPoolBody = z.object({ firstIp: ipv4, lastIp: ipv4, reserved: z.array(ipv4).max(1024).optional() }).strict();
export const growPoolBody = z.object({ firstIp: ipv4, lastIp: ipv4 }).strict();
/** A fence command: an argument vector with an absolute program (run without a shell), or null to remove it. */
const fenceCommand = z.array(z.string().min(1).max(512).regex(/^[^\0\n]*$/, 'one line, no NUL')).min(1).max(32)
  .refine((argv) => argv[0].startsWith('/'), 'must start with an absolute path to the program');
export const patchHostBody = z.object({
  state: z.enum(['enabled', 'draining', 'disabled']).optional(),
  fenceCommand: fenceCommand.nullable().optional(),
}).strict().refine((b) => b.state !== undefined || b.fenceCommand !== undefined, 'give state or fenceCommand');
export const patchZoneBody = z.object({ autoFailover: z.boolean() }).strict();
export const restoreBody = z.object({ concurrency: z.number().int().min(1).max(50).optional() }).strict();
export const reserveAddressBody = z.object({ reserved: z.boolean() }).strict();

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
/**
 * A new image's name becomes a Docker repository path component (vcloud/<name>), so it follows
 * Docker's grammar; and it must not look like an id, which it would shadow in lookups by id or name.
 */
export const newImageName = z.string().min(1).max(100)
  .regex(/^[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*$/, 'must be lowercase letters and digits, separated by ".", "_", "__" or "-"')
  .refine((n) => !UUID.test(n), 'must not look like an image id');
export const registerDockerImageBody = z.object({
  name: newImageName,
  kind: z.enum(['docker', 'tgz']),
  reference: registryReference,
}).strict();
/** A user's image from one of their container snapshots. */
export const imageFromSnapshotBody = z.object({ name: newImageName, fromSnapshot: z.string().uuid('must be a snapshot id') }).strict();
export const patchImageBody = z.object({ visibility: z.enum(['private', 'public']) }).strict();
export const uploadQuery = z.object({ name: newImageName, kind: z.literal('tgz') }).strict();
export const convertBody = z.object({ to: z.enum(['docker', 'tgz']), name: newImageName.optional() }).strict();

export const migrateBody = z.object({
  snapshot: z.union([z.literal('latest'), z.literal('none'), z.string().uuid('must be "latest", "none" or a snapshot id')]).optional(),
  host: z.string().max(63).regex(DNS_LABEL, 'must be a host id').optional(),
}).strict();
export const sshKeyBody = z.object({
  name: dnsLabel,
  publicKey: z.string().min(1).max(16 * 1024),
}).strict();

/** What changes; at least one. The bounds are a create's. */
export const resizeBody = z.object({
  vcpus: z.number().int().min(1).max(64).optional(),
  memoryMb: z.number().int().min(16).max(512 * 1024).optional(),
  diskGb: z.number().int().min(1).max(4096).optional(),
  /** When the instance's host has no room for the new size, move it (same IP and MAC) to a host of the zone that has. */
  allowMigrate: z.boolean().optional(),
}).strict().refine((b) => b.vcpus !== undefined || b.memoryMb !== undefined || b.diskGb !== undefined,
  { message: 'name at least one of vcpus, memoryMb, diskGb', path: ['vcpus'] });
export const evacuateBody = z.object({
  concurrency: z.number().int().min(1).max(50).optional(),
  /** The admin says the host is powered off (or otherwise cannot run its instances): they may be rebuilt elsewhere. */
  fenced: z.literal(true).optional(),
}).strict();
export const emptyBody = z.object({}).strict();

export const actionBody = z.object({ action: z.enum(['start', 'stop', 'pause', 'resume', 'reboot']) }).strict();

/** Every list is read a page at a time: `limit` rows (default 100, at most 1000) after `cursor`, the `next` of the page before. */
const pageFields = {
  limit: z.coerce.number().int().min(1).max(MAX_PAGE_LIMIT).default(DEFAULT_PAGE_LIMIT),
  cursor: z.string().min(1).max(1000).optional(),
};
export const listQuery = <S extends z.ZodRawShape>(filters: S) => z.object({ ...pageFields, ...filters }).strict();
export const pageQuery = listQuery({});
export const imagesQuery = listQuery({ mine: z.enum(['true', 'false']).optional() });
export const instancesQuery = listQuery({ all: z.enum(['true', 'false']).optional() });
export const addressesQuery = listQuery({ state: z.enum(['free', 'allocated', 'reserved', 'quarantined']).optional() });
export const operationsQuery = listQuery({
  instance: z.string().uuid('must be an instance id').optional(),
  state: z.enum(['running', 'succeeded', 'failed', 'cancelled']).optional(),
  type: z.string().max(32).regex(/^[a-z-]+$/, 'must be an operation type').optional(),
});
export const runsQuery = listQuery({ zone: z.string().max(63).optional() });
export const auditQuery = listQuery({
  user: z.string().min(1).max(63).optional(),
  instance: z.string().uuid('must be an instance id').optional(),
  since: z.coerce.date().optional(),
  until: z.coerce.date().optional(),
});

const duration = z.string().regex(/^\d{1,6}[smhd]$/, 'must be a duration like 30s, 15m, 2h or 1d');
/** A metrics window: its length and the step between points. */
export const metricsQuery = z.object({ range: duration.default('1h'), step: duration.default('60s') }).strict();
