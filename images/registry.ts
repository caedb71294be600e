// The local registry's v2 API, for what dockerode does not do: resolve a reference to its
// manifest digest, and delete a manifest. Only the configured registry is ever addressed.
const ACCEPT = [
  'application/vnd.docker.distribution.manifest.v2+json',
  'application/vnd.oci.image.manifest.v1+json',
  'application/vnd.docker.distribution.manifest.list.v2+json',
  'application/vnd.oci.image.index.v1+json',
].join(', ');

export interface ParsedReference { registry: string; repository: string; tag: string | null; digest: string | null }

export function parseReference(ref: string): ParsedReference {
  const [nameAndTag, digest = null] = ref.split('@');
  const slash = nameAndTag.indexOf('/');
  const first = slash > 0 ? nameAndTag.slice(0, slash) : '';
  const hasRegistry = first.includes('.') || first.includes(':') || first === 'localhost';
  const registry = hasRegistry ? first : 'docker.io';
  const rest = hasRegistry ? nameAndTag.slice(slash + 1) : nameAndTag;
  const colon = rest.lastIndexOf(':');
  const repository = colon > 0 ? rest.slice(0, colon) : rest;
  const tag = colon > 0 ? rest.slice(colon + 1) : digest ? null : 'latest';
  return { registry, repository, tag, digest };
}

export class RegistryClient {
  constructor(private readonly registry: string) {}

  get address(): string {
    return this.registry;
  }

  owns(ref: ParsedReference): boolean {
    return ref.registry === this.registry;
  }

  /** The manifest digest of a reference, or null when the registry has no such manifest. */
  async digestOf(ref: ParsedReference): Promise<string | null> {
    if (!this.owns(ref)) throw new Error(`only ${this.registry} is reachable`);
    const res = await fetch(`http://${this.registry}/v2/${ref.repository}/manifests/${ref.digest ?? ref.tag}`, {
      method: 'HEAD', headers: { accept: ACCEPT }, signal: AbortSignal.timeout(10_000),
    });
    if (res.status === 404) return null;
    if (!res.ok) throw new Error(`registry answered ${res.status} for ${ref.repository}`);
    return res.headers.get('docker-content-digest');
  }

  /**
   * The manifest `digest` of `from` tagged in `to` as well, its blobs mounted from `from`'s
   * repository (no byte copied): the copy is the new repository's own, so deleting `from` later
   * leaves it whole (the collection keeps blobs any manifest names). Idempotent; returns the digest.
   */
  async copyManifest(from: ParsedReference, digest: string, to: ParsedReference): Promise<string> {
    if (!this.owns(from) || !this.owns(to) || !to.tag) throw new Error(`only tagged references in ${this.registry} are copied`);
    const base = `http://${this.registry}/v2`;
    const got = await fetch(`${base}/${from.repository}/manifests/${digest}`, { headers: { accept: ACCEPT }, signal: AbortSignal.timeout(10_000) });
    if (!got.ok) throw new Error(`registry answered ${got.status} for ${from.repository}@${digest}`);
    const mediaType = got.headers.get('content-type') ?? 'application/vnd.docker.distribution.manifest.v2+json';
    const body = Buffer.from(await got.arrayBuffer());
    const manifest = JSON.parse(body.toString('utf8')) as { config?: { digest: string }; layers?: { digest: string }[] };
    if (!manifest.config || !Array.isArray(manifest.layers)) throw new Error(`${from.repository}@${digest} is not an image manifest`);
    for (const blob of [manifest.config.digest, ...manifest.layers.map((l) => l.digest)]) {
      const mount = await fetch(`${base}/${to.repository}/blobs/uploads/?mount=${encodeURIComponent(blob)}&from=${encodeURIComponent(from.repository)}`, {
        method: 'POST', signal: AbortSignal.timeout(30_000),
      });
      // 201: mounted. 202 would be an upload started instead (the blob is not where it should be).
      if (mount.status !== 201) throw new Error(`registry could not mount ${blob} into ${to.repository} (${mount.status})`);
    }
    const put = await fetch(`${base}/${to.repository}/manifests/${to.tag}`, {
      method: 'PUT', headers: { 'content-type': mediaType }, body, signal: AbortSignal.timeout(10_000),
    });
    if (put.status !== 201) throw new Error(`registry answered ${put.status} tagging ${to.repository}:${to.tag}`);
    return put.headers.get('docker-content-digest') ?? digest;
  }

  async deleteManifest(ref: ParsedReference, digest: string): Promise<void> {
    if (!this.owns(ref)) throw new Error(`only ${this.registry} is reachable`);
    const res = await fetch(`http://${this.registry}/v2/${ref.repository}/manifests/${digest}`, { method: 'DELETE', signal: AbortSignal.timeout(10_000) });
    if (!res.ok && res.status !== 404) throw new Error(`registry answered ${res.status} deleting ${ref.repository}@${digest}`);
  }
}
