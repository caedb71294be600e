import { control, convertOn } from './activity-options';
import { runOperation } from './operation';

export interface MakeImageInput { operationId: string; snapshotId: string; imageId: string }

/**
 * A user's image from their snapshot. A container's: the snapshot's manifest tagged in the image's own
 * repository (`vcloud/<name>:<imageId>`, blobs mounted, nothing copied), so the image outlives the
 * snapshot; undone, that tag is deleted. A VM's: its disk made into a bootable template in the image
 * store on a live VM host; undone, that file is deleted. Either way a failure leaves the image failed.
 */
export async function makeImage(input: MakeImageInput): Promise<{ imageId: string }> {
  const { snapshotId, imageId } = input;
  return runOperation(input.operationId, {
    async run(op, saga) {
      const job = await control.planImageFromSnapshot(op, snapshotId, imageId);
      if (job.kind === 'kvm') {
        const host = convertOn(job.hostId);
        saga.add('discard the output', () => host.discardConvertOutput({ to: 'tgz', targetKey: job.targetKey }));
        const made = await host.diskSnapshotToTgz({ sourceLocation: job.sourceLocation, digest: job.digest, targetKey: job.targetKey });
        await control.markImageReady(op, imageId, made);
        saga.clear();
        return { imageId };
      }
      saga.add('delete the registry image', () => control.deleteRegistryImage(op, job.targetRef));
      const out = await control.copySnapshotToImage(op, job);
      await control.markImageReady(op, imageId, out);
      saga.clear();
      return { imageId };
    },
    async settle(op, f) {
      await control.markImageFailed(op, imageId, f.reason);
    },
  });
}
