import type { Knex } from 'knex';
import { assertRegistryOpen } from '../../db/registry-maintenance';
import { getImage, markImageFailed, markImageReady } from '../../db/images';
import { pickLiveHost } from '../../db/hosts';
import type { OpRef } from '../../db/operations';
import { RegistryClient, parseReference } from '../../images/registry';
import { CapacityError, StateConflictError } from '../../lib/errors';
import { inRun } from './instance-activities';

export interface ImageControlDeps { db: Knex; registry: string; hostLiveSeconds: number }

export interface ConvertJob {
  to: 'docker' | 'tgz'; hostId: string; sourceImageId: string; sourceLocation: string; sourceDigest: string | null;
  targetRef: string; targetKey: string;
}

/**
 * An image from a snapshot: a container's manifest tagged as the image's own; a VM's disk (`kind: 'kvm'`, absent
 * from jobs recorded before VM snapshots could become images) made into a template on a live VM host.
 */
export type SnapshotImageJob = { kind?: 'docker'; sourceRef: string; digest: string; targetRef: string }
  | { kind: 'kvm'; hostId: string; sourceLocation: string; digest: string; targetKey: string };

export function createImageControlActivities({ db, registry, hostLiveSeconds }: ImageControlDeps) {
  return {
    /** The target image is pending (a reset run of a failed conversion makes it pending again). */
    async beginConvert(op: OpRef, targetImageId: string, reopened: boolean): Promise<void> {
      await inRun(db, op, async (trx) => {
        const target = await trx('images').where({ id: targetImageId }).forUpdate().first();
        if (target?.state === 'failed' && reopened) await trx('images').where({ id: targetImageId }).update({ state: 'pending', failure: null });
        else if (target?.state !== 'pending' && target?.state !== 'ready') throw new StateConflictError(`image ${targetImageId} is ${target?.state ?? 'gone'}`);
      });
    },
    /** The conversion's inputs, and the live Docker host that will do it. */
    async planConversion(op: OpRef, sourceImageId: string, targetImageId: string): Promise<ConvertJob> {
      const source = await getImage(db, sourceImageId);
      const target = await getImage(db, targetImageId);
      // A push to the registry waits while its garbage collection runs.
      await inRun(db, op, async (trx) => { if (target?.kind === 'docker') await assertRegistryOpen(trx); });
      if (!source || !target) throw new StateConflictError('conversion images are missing');
      const host = await pickLiveHost(db, 'docker', hostLiveSeconds);
      if (!host) throw new CapacityError('no live host with a Docker engine to convert on');
      return {
        to: target.kind, hostId: host, sourceImageId, sourceLocation: source.location, sourceDigest: source.digest,
        // Tagged with the target's id: only this conversion ever pushes that tag, so finding it means done.
        targetRef: `${registry}/vcloud/${target.name}:${target.id}`, targetKey: `${target.id}.tgz`,
      };
    },
    async markImageReady(op: OpRef, id: string, done: { location: string; digest: string; sizeBytes: number | null; boot: Record<string, string> | null }) {
      await inRun(db, op, (trx) => markImageReady(trx, id, done));
    },
    async markImageFailed(op: OpRef, id: string, failure: string) {
      await inRun(db, op, (trx) => markImageFailed(trx, id, failure));
    },
    /** An image from a container snapshot: its manifest, to be tagged as the image's own. */
    async planImageFromSnapshot(op: OpRef, snapshotId: string, imageId: string): Promise<SnapshotImageJob> {
      return inRun(db, op, async (trx) => {
        const snapshot = await trx('snapshots').where({ id: snapshotId }).first();
        const image = await trx('images').where({ id: imageId }).first();
        if (snapshot?.state !== 'ready' || !snapshot.location || !snapshot.digest) throw new StateConflictError(`snapshot ${snapshotId} is ${snapshot?.state ?? 'gone'}`);
        if (!image) throw new StateConflictError(`image ${imageId} is gone`);
        if (snapshot.kind === 'kvm') {
          const hostId = await pickLiveHost(trx, 'kvm', hostLiveSeconds);
          if (!hostId) throw new CapacityError('no live host with libvirt to make the image on');
          return { kind: 'kvm' as const, hostId, sourceLocation: snapshot.location, digest: snapshot.digest, targetKey: `${image.id}.tgz` };
        }
        await assertRegistryOpen(trx);
        return { sourceRef: snapshot.location, digest: snapshot.digest, targetRef: `${registry}/vcloud/${image.name}:${image.id}` };
      });
    },
    async copySnapshotToImage(op: OpRef, job: Extract<SnapshotImageJob, { sourceRef: string }>): Promise<{ location: string; digest: string; sizeBytes: null; boot: null }> {
      await inRun(db, op, async () => undefined);
      const client = new RegistryClient(registry);
      const digest = await client.copyManifest(parseReference(job.sourceRef), job.digest, parseReference(job.targetRef));
      return { location: job.targetRef, digest, sizeBytes: null, boot: null };
    },
    /** The pushed manifest of a failed conversion, if it got that far. */
    async deleteRegistryImage(op: OpRef, ref: string): Promise<void> {
      await inRun(db, op, async () => undefined);
      const parsed = parseReference(ref);
      const client = new RegistryClient(registry);
      const digest = await client.digestOf(parsed);
      if (digest) await client.deleteManifest(parsed, digest);
    },
  };
}
export type ImageControlActivities = ReturnType<typeof createImageControlActivities>;
