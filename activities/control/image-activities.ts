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
