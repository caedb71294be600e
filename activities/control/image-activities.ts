import type { Knex } from 'knex';
import { getImage, markImageFailed, markImageReady } from '../../db/images';
import { pickLiveHost } from '../../db/hosts';
import { RegistryClient, parseReference } from '../../images/registry';
import { CapacityError } from '../../lib/errors';
import { permanentOnKnown } from '../failures';

export interface ImageControlDeps { db: Knex; registry: string; hostLiveSeconds: number }

export interface ConvertJob {
  to: 'docker' | 'tgz'; hostId: string; sourceImageId: string; sourceLocation: string; sourceDigest: string | null;
  targetRef: string; targetKey: string;
}

export function createImageControlActivities({ db, registry, hostLiveSeconds }: ImageControlDeps) {
  return {
    /** The conversion's inputs, and the live Docker host that will do it. */
    async planConversion(sourceImageId: string, targetImageId: string): Promise<ConvertJob> {
      return permanentOnKnown(async () => {
        const source = await getImage(db, sourceImageId);
        const target = await getImage(db, targetImageId);
        if (!source || !target) throw new Error('conversion images are missing');
        const host = await pickLiveHost(db, 'docker', hostLiveSeconds);
        if (!host) throw new CapacityError('no live host with a Docker engine to convert on');
        return {
          to: target.kind, hostId: host, sourceImageId, sourceLocation: source.location, sourceDigest: source.digest,
          // Tagged with the target's id: only this conversion ever pushes that tag, so finding it means done.
          targetRef: `${registry}/vcloud/${target.name}:${target.id}`, targetKey: `${target.id}.tgz`,
        };
      });
    },
    async markImageReady(id: string, done: { location: string; digest: string; sizeBytes: number | null; boot: Record<string, string> | null }) {
      await markImageReady(db, id, done);
    },
    async markImageFailed(id: string, failure: string) {
      await markImageFailed(db, id, failure);
    },
    /** The pushed manifest of a failed conversion, if it got that far. */
    async deleteRegistryImage(ref: string): Promise<void> {
      const parsed = parseReference(ref);
      const client = new RegistryClient(registry);
      const digest = await client.digestOf(parsed);
      if (digest) await client.deleteManifest(parsed, digest);
    },
  };
}
export type ImageControlActivities = ReturnType<typeof createImageControlActivities>;
