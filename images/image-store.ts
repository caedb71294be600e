import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';

/**
 * Where tgz templates and VM disk snapshots live. The directory store is the default; an
 * S3-compatible store (Ceph RGW) implements the same four verbs.
 */
export interface ImageStore {
  /** Stores a stream under `key`; returns its location, sha256 digest and size. Beyond `maxBytes`, TooLargeError and nothing stored. */
  put(key: string, data: NodeJS.ReadableStream, opts?: { maxBytes?: number }): Promise<{ location: string; digest: string; sizeBytes: number }>;
  /** Copies the object at `location` to `dest`, checking its digest when one is given. */
  fetch(location: string, dest: string, digest: string | null): Promise<void>;
  delete(location: string): Promise<void>;
  /** A new location for a key, for writers that produce the file themselves. */
  locationFor(key: string): string;
  /** Every object, for the garbage collection to compare with what the database names. */
  list(): Promise<StoredObject[]>;
}

export interface StoredObject { key: string; location: string; sizeBytes: number; modifiedAt: Date }

export class TooLargeError extends Error {
  constructor(readonly maxBytes: number) { super(`more than ${maxBytes} bytes`); this.name = 'TooLargeError'; }
}

const KEY = /^[a-zA-Z0-9][a-zA-Z0-9._-]{0,200}$/;

export async function sha256File(file: string): Promise<string> {
  const hash = crypto.createHash('sha256');
  await pipeline(fs.createReadStream(file), hash);
  return `sha256:${hash.digest('hex')}`;
}

export class DirImageStore implements ImageStore {
  constructor(readonly root: string) {
    fs.mkdirSync(root, { recursive: true });
  }

  locationFor(key: string): string {
    if (!KEY.test(key)) throw new Error(`bad image store key ${key}`);
    return path.join(this.root, key);
  }

  private inside(location: string): string {
    const resolved = path.resolve(location);
    if (!resolved.startsWith(path.resolve(this.root) + path.sep)) throw new Error(`${location} is not in the image store`);
    return resolved;
  }

  async put(key: string, data: NodeJS.ReadableStream, { maxBytes = Infinity }: { maxBytes?: number } = {}) {
    const location = this.locationFor(key);
    const partial = `${location}.partial`;
    const hash = crypto.createHash('sha256');
    let sizeBytes = 0;
    // Counted as it streams: a body without a Content-Length is cut off at the cap, not after it.
    const meter = new Transform({
      transform(chunk: Buffer, _enc, done) {
        sizeBytes += chunk.length;
        if (sizeBytes > maxBytes) return done(new TooLargeError(maxBytes));
        hash.update(chunk);
        done(null, chunk);
      },
    });
    try {
      await pipeline(data, meter, fs.createWriteStream(partial));
    } catch (err) {
      fs.rmSync(partial, { force: true });
      throw err;
    }
    fs.renameSync(partial, location);
    return { location, digest: `sha256:${hash.digest('hex')}`, sizeBytes };
  }

  async fetch(location: string, dest: string, digest: string | null): Promise<void> {
    const source = this.inside(location);
    const partial = `${dest}.partial`;
    fs.copyFileSync(source, partial);
    if (digest && (await sha256File(partial)) !== digest) {
      fs.rmSync(partial, { force: true });
      throw new Error(`image at ${location} does not match its recorded digest ${digest}`);
    }
    fs.renameSync(partial, dest);
  }

  async delete(location: string): Promise<void> {
    fs.rmSync(this.inside(location), { force: true });
  }

  /** Regular files only: a link or a directory someone put here is neither listed nor followed. */
  async list(): Promise<StoredObject[]> {
    const entries = await fs.promises.readdir(this.root, { withFileTypes: true });
    const out: StoredObject[] = [];
    for (const e of entries) {
      if (!e.isFile()) continue;
      const location = path.join(this.root, e.name);
      const st = await fs.promises.lstat(location).catch(() => null);
      if (st?.isFile()) out.push({ key: e.name, location, sizeBytes: st.size, modifiedAt: st.mtime });
    }
    return out;
  }
}
