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

/** Where a host puts a snapshot: fixed by its ids, so a failed one's leftovers can be found without its result. */
export const snapshotNames = {
  dockerRef: (registry: string, instanceId: string, snapshotId: string) => `${registry}/snapshots/${instanceId}:${snapshotId}`,
  storeKey: (snapshotId: string) => `snapshot-${snapshotId}.qcow2`,
};

/** A snapshot that never became ready: whatever its host got as far as pushing or storing. */
export async function discardSnapshotData(
  snapshot: { id: string; instance_id: string; kind: 'docker' | 'kvm' },
  registry: RegistryClient, store: ImageStore,
): Promise<void> {
  if (snapshot.kind === 'kvm') return store.delete(store.locationFor(snapshotNames.storeKey(snapshot.id)));
  const ref = parseReference(snapshotNames.dockerRef(registry.address, snapshot.instance_id, snapshot.id));
  const digest = await registry.digestOf(ref);
  if (digest) await registry.deleteManifest(ref, digest);
}
