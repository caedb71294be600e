// Frozen: the previous release's workflow, kept so its recorded histories replay (see ../index.ts).
import { convertActivities, control, imageControl } from './activity-options';
import { Saga, reasonOf } from './saga';

export interface ConvertImageInput { operationId: string; sourceImageId: string; targetImageId: string }

/** tgz -> Docker image (import, push) or Docker image -> tgz (export, store), on a live Docker host. */
export async function convertImage(input: ConvertImageInput): Promise<{ imageId: string }> {
  const saga = new Saga();
  try {
    const job = await imageControl.planConversion(input.sourceImageId, input.targetImageId);
    const host = convertActivities(job.hostId);
    saga.add('discard output', () => host.discardConvertOutput({ to: job.to, targetRef: job.targetRef, targetKey: job.targetKey }));
    if (job.to === 'docker') saga.add('delete registry image', () => imageControl.deleteRegistryImage(job.targetRef));
    const out = job.to === 'docker'
      ? await host.convertTgzToDocker({ sourceImageId: job.sourceImageId, sourceLocation: job.sourceLocation, sourceDigest: job.sourceDigest, targetRef: job.targetRef })
      : await host.convertDockerToTgz({ sourceRef: job.sourceLocation, sourceDigest: job.sourceDigest, targetKey: job.targetKey });
    await imageControl.markImageReady(input.targetImageId, out);
    await control.finishOperation(input.operationId, 'succeeded', undefined, { imageId: input.targetImageId });
    return { imageId: input.targetImageId };
  } catch (err) {
    const reason = reasonOf(err);
    await saga.compensate();
    await imageControl.markImageFailed(input.targetImageId, reason);
    await control.finishOperation(input.operationId, 'failed', reason);
    throw err;
  }
}
