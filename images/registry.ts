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

  async deleteManifest(ref: ParsedReference, digest: string): Promise<void> {
    if (!this.owns(ref)) throw new Error(`only ${this.registry} is reachable`);
    const res = await fetch(`http://${this.registry}/v2/${ref.repository}/manifests/${digest}`, { method: 'DELETE', signal: AbortSignal.timeout(10_000) });
    if (!res.ok && res.status !== 404) throw new Error(`registry answered ${res.status} deleting ${ref.repository}@${digest}`);
  }
}
