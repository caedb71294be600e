import fs from 'node:fs';
import zlib from 'node:zlib';
import { Transform } from 'node:stream';
import Docker from 'dockerode';
import { INSTANCE_LABEL, PermanentDriverError } from './instance-driver';
import type { ImageStore } from '../images/image-store';

export type Progress = (bytes: number, phase: string) => void;

/** Counts bytes going through, for heartbeats. */
function counter(onBytes: (n: number) => void): Transform {
  let total = 0;
  return new Transform({
    transform(chunk: Buffer, _enc, done) { total += chunk.length; onBytes(total); done(null, chunk); },
  });
}

const follow = (docker: Docker, stream: NodeJS.ReadableStream, onEvent: (e: any) => void) =>
  new Promise<void>((resolve, reject) => docker.modem.followProgress(stream, (err: Error | null) => (err ? reject(err) : resolve()), onEvent));

/** Image conversion on a host's Docker engine: tgz -> image (import, push), image -> tgz (export). */
export class DockerImages {
  private readonly docker: Docker;
  constructor(socketPath: string) {
    this.docker = new Docker({ socketPath });
  }

  /** The digest the registry has for `ref`, when this engine knows it. */
  async repoDigest(ref: string): Promise<string | null> {
    try {
      const info = await this.docker.getImage(ref).inspect();
      const repo = ref.slice(0, ref.lastIndexOf(':') > ref.lastIndexOf('/') ? ref.lastIndexOf(':') : ref.length);
      const entry = (info.RepoDigests ?? []).find((d) => d.startsWith(`${repo}@`));
      return entry ? entry.split('@')[1] : null;
    } catch {
      return null;
    }
  }

  async importTgz(tgzPath: string, ref: string, cmd: string[], progress: Progress): Promise<string> {
    const colon = ref.lastIndexOf(':');
    const repo = ref.slice(0, colon);
    const tag = ref.slice(colon + 1);
    const body = fs.createReadStream(tgzPath).pipe(counter((n) => progress(n, 'import')));
    const stream = await this.docker.importImage(body as unknown as string, { repo, tag, changes: `CMD ${JSON.stringify(cmd)}` });
    await follow(this.docker, stream, () => undefined);
    // The engine wants an X-Registry-Auth header even for a registry without auth.
    const pushStream = await this.docker.getImage(ref).push({ authconfig: {} as Docker.AuthConfig });
    let pushed = 0;
    await follow(this.docker, pushStream, (e) => {
      if (e?.error) return;
      if (e?.progressDetail?.current) { pushed = Math.max(pushed, e.progressDetail.current); progress(pushed, 'push'); }
    });
    const digest = await this.repoDigest(ref);
    if (!digest) throw new Error(`pushed ${ref} but the engine reports no registry digest`);
    return digest;
  }

  /** Exports an image's filesystem (via a created, never started container) as a gzipped tar. */
  async exportToStore(ref: string, store: ImageStore, key: string, progress: Progress) {
    try {
      await this.docker.getImage(ref).inspect();
    } catch {
      const pull = await this.docker.pull(ref).catch((err) => { throw new PermanentDriverError(`cannot pull ${ref}: ${err.message}`); });
      await follow(this.docker, pull, () => undefined);
    }
    const name = `vc-export-${key.replace(/[^a-zA-Z0-9_.-]/g, '-')}`;
    await this.docker.getContainer(name).remove({ force: true }).catch(() => undefined);
    const container = await this.docker.createContainer({ name, Image: ref, Cmd: ['/bin/true'], Labels: { [INSTANCE_LABEL + '.export']: key }, HostConfig: { NetworkMode: 'none' } });
    try {
      const tar = await container.export();
      return await store.put(key, tar.pipe(counter((n) => progress(n, 'export'))).pipe(zlib.createGzip()));
    } finally {
      await container.remove({ force: true }).catch(() => undefined);
    }
  }

  async removeTag(ref: string): Promise<void> {
    await this.docker.getImage(ref).remove({ force: true }).catch(() => undefined);
  }
}
