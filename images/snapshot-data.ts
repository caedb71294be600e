import type { ImageStore } from './image-store';
import { RegistryClient, parseReference } from './registry';

/** Removes what a snapshot keeps: a container's registry manifest, or a VM's qcow2 in the store. */
export async function deleteSnapshotData(
  snapshot: { kind: 'docker' | 'kvm'; location: string | null; digest: string | null },
  registry: RegistryClient, store: ImageStore,
): Promise<void> {
  if (!snapshot.location) return;
  if (snapshot.kind === 'docker' && snapshot.digest) await registry.deleteManifest(parseReference(snapshot.location), snapshot.digest);
  if (snapshot.kind === 'kvm') await store.delete(snapshot.location);
}
