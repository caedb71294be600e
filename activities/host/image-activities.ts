import fs from 'node:fs';
import path from 'node:path';
import type { DockerImages } from '../../drivers/docker-images';
import type { ImageStore } from '../../images/image-store';
import { inspectTemplate } from '../../host/template-archive';
import { diskSnapshotToTgz } from '../../host/disk-image';
import { PermanentDriverError } from '../../drivers/instance-driver';
import { HostSteps } from './host-step';
import { RegistryClient, parseReference } from '../../images/registry';
import { pullReference } from '../../drivers/docker-options';

export interface ConvertedImage { location: string; digest: string; sizeBytes: number | null; boot: Record<string, string> | null }
export interface ImageDeps { hostId: string; images: DockerImages | null; imageStore: ImageStore; cacheDir: string; registry: RegistryClient }

// Host side of image conversion: each a whole, repeatable step (a retry redoes it from the start).
export function createImageActivities({ hostId, images, imageStore, cacheDir, registry }: ImageDeps) {
  const steps = new HostSteps(`host-${hostId}`);
  // Heartbeats carry {phase, bytes}, so a long step without progress events (the engine committing
  // a layer) is not taken for a dead agent, while a dead agent still is.
  const withHeartbeats = <T>(name: string, key: string, fn: (progress: (bytes: number, phase: string) => void) => Promise<T>) =>
    steps.run(name, key, (t) => fn((bytes, phase) => t.progress(phase, { bytes })));
  const engine = () => {
    if (!images) throw new PermanentDriverError('this host has no Docker engine');
    return images;
  };
  return {
    async convertTgzToDocker(job: { sourceImageId: string; sourceLocation: string; sourceDigest: string | null; targetRef: string }): Promise<ConvertedImage> {
      return withHeartbeats('convertTgzToDocker', `convert:${job.targetRef}`, async (progress) => {
        // Asked of the registry, not of this engine: an engine can hold a tag the registry lost.
        const done = await registry.digestOf(parseReference(job.targetRef));
        if (done) return { location: job.targetRef, digest: done, sizeBytes: null, boot: null };
        fs.mkdirSync(cacheDir, { recursive: true });
        const local = path.join(cacheDir, `${job.sourceImageId}.tgz`);
        if (!fs.existsSync(local)) await imageStore.fetch(job.sourceLocation, local, job.sourceDigest);
        // Refused before an engine imports it: no device node or escaping member becomes an image layer.
        const { names } = await inspectTemplate(local);
        // The template's own init when it has one (under /usr/sbin in a merged-/usr Debian), else a shell that waits.
        const init = ['sbin/vcloud-init', 'usr/sbin/vcloud-init'].find((n) => names.includes(n));
        const cmd = init ? [`/${init}`] : ['/bin/sh', '-c', "trap 'exit 0' TERM; while :; do sleep 3600 & wait $!; done"];
        const digest = await engine().importTgz(local, job.targetRef, cmd, progress);
        return { location: job.targetRef, digest, sizeBytes: null, boot: null };
      });
    },

    async convertDockerToTgz(job: { sourceRef: string; sourceDigest: string | null; targetKey: string }): Promise<ConvertedImage> {
      return withHeartbeats('convertDockerToTgz', `convert:${job.targetKey}`, async (progress) => {
        // By digest: what is exported is what was registered, whatever this engine calls that tag.
        const ref = pullReference(job.sourceRef, job.sourceDigest);
        const stored = await engine().exportToStore(ref, imageStore, job.targetKey, progress);
        progress(stored.sizeBytes, 'inspecting');
        // What an image holds is checked as an upload is: a template with a device node is no template.
        const { boot, unpackedBytes } = await inspectTemplate(stored.location);
        return {
          location: stored.location, digest: stored.digest, sizeBytes: unpackedBytes,
          boot: boot ? { ...boot, cmdline: 'console=ttyS0' } : null,
        };
      });
    },

    /** A VM snapshot made into a template in the store (host/disk-image.ts), checked as an upload is. */
    async diskSnapshotToTgz(job: { sourceLocation: string; digest: string; targetKey: string }): Promise<ConvertedImage> {
      return withHeartbeats('diskSnapshotToTgz', `convert:${job.targetKey}`, async (progress) => {
        const work = path.join(cacheDir, `make-${job.targetKey}`);
        fs.mkdirSync(work, { recursive: true });
        const qcow2 = path.join(work, 'snapshot.qcow2');
        const tgz = path.join(work, 'image.tgz');
        try {
          progress(0, 'fetching the snapshot');
          await imageStore.fetch(job.sourceLocation, qcow2, job.digest);
          progress(0, 'dumping the filesystem');
          await diskSnapshotToTgz(qcow2, path.join(work, 'dump'), tgz);
          progress(fs.statSync(tgz).size, 'inspecting');
          const { boot, unpackedBytes } = await inspectTemplate(tgz);
          if (!boot) throw new PermanentDriverError('the snapshot\'s disk has no /boot kernel and initrd: it cannot be a VM template');
          const stored = await imageStore.put(job.targetKey, fs.createReadStream(tgz));
          return { location: stored.location, digest: stored.digest, sizeBytes: unpackedBytes, boot: { ...boot, cmdline: 'console=ttyS0' } };
        } finally {
          fs.rmSync(work, { recursive: true, force: true });
        }
      });
    },

    /** Compensation: what a failed conversion may have left on this host or in the store. */
    async discardConvertOutput(job: { to: 'docker' | 'tgz'; targetRef?: string; targetKey?: string }): Promise<void> {
      if (job.to === 'docker' && job.targetRef && images) await images.removeTag(job.targetRef);
      if (job.to === 'tgz' && job.targetKey) await imageStore.delete(imageStore.locationFor(job.targetKey)).catch(() => undefined);
    },
  };
}
export type ImageActivities = ReturnType<typeof createImageActivities>;
