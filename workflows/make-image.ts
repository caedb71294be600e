import { control } from './activity-options';
import { runOperation } from './operation';

export interface MakeImageInput { operationId: string; snapshotId: string; imageId: string }

/**
 * A user's image from their container snapshot: the snapshot's manifest tagged in the image's own
 * repository (`vcloud/<name>:<imageId>`, blobs mounted, nothing copied), so the image outlives the
 * snapshot. Undone: that tag deleted, the image failed.
 */
export async function makeImage(input: MakeImageInput): Promise<{ imageId: string }> {
  const { snapshotId, imageId } = input;
  return runOperation(input.operationId, {
    async run(op, saga) {
      const job = await control.planImageFromSnapshot(op, snapshotId, imageId);
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
