import { z } from 'zod';
import { isIpv4, DNS_LABEL } from '../lib/net';

const dnsLabel = z.string().max(63).regex(DNS_LABEL, 'must be a DNS label: lowercase letters, digits and hyphens, at most 63');
/** An image is named by its id or its name; registry references are for image registration. */
const imageName = z.string().min(1).max(128).regex(/^[a-z0-9][a-z0-9._-]*$/, 'must be an image id or name');

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
}).strict();
export type CreateInstanceBody = z.infer<typeof createInstanceBody>;

export const uuidParam = z.string().uuid('must be a UUID');

/** A Docker registry reference: [host[:port]/]path[:tag][@sha256:digest], lowercase path. */
export const registryReference = z.string().max(255).regex(
  /^(?:[a-zA-Z0-9.-]+(?::\d{1,5})?\/)?[a-z0-9]+(?:[._-][a-z0-9]+)*(?:\/[a-z0-9]+(?:[._-][a-z0-9]+)*)*(?::[\w][\w.-]{0,127})?(?:@sha256:[a-f0-9]{64})?$/,
  'must be a registry reference like 127.0.0.1:5000/team/app:tag',
);
