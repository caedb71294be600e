import { patched } from '@temporalio/workflow';
import { control, convertOn } from './activity-options';
import { LIFECYCLE_V2, runOperation } from './operation';
import { convertImage as legacyConvertImage } from './legacy/convert-image';

export interface ConvertImageInput { operationId: string; sourceImageId: string; targetImageId: string }

/** tgz -> Docker image (import, push) or Docker image -> tgz (export, store), on a live Docker host. */
export async function convertImage(input: ConvertImageInput): Promise<{ imageId: string }> {
  if (!patched(LIFECYCLE_V2)) return legacyConvertImage(input);
  const { sourceImageId, targetImageId } = input;
  return runOperation(input.operationId, {
    async run(op, saga, { reopened }) {
      await control.beginConvert(op, targetImageId, reopened);
      const job = await control.planConversion(op, sourceImageId, targetImageId);
      const host = convertOn(job.hostId);
      saga.add('discard the output', () => host.discardConvertOutput({ to: job.to, targetRef: job.targetRef, targetKey: job.targetKey }));
      if (job.to === 'docker') saga.add('delete the registry image', () => control.deleteRegistryImage(op, job.targetRef));
      const out = job.to === 'docker'
        ? await host.convertTgzToDocker({ sourceImageId, sourceLocation: job.sourceLocation, sourceDigest: job.sourceDigest, targetRef: job.targetRef })
        : await host.convertDockerToTgz({ sourceRef: job.sourceLocation, sourceDigest: job.sourceDigest, targetKey: job.targetKey });
      await control.markImageReady(op, targetImageId, out);
      saga.clear();
      return { imageId: targetImageId };
    },
    async settle(op, f) {
      await control.markImageFailed(op, targetImageId, f.reason);
    },
  });
}
