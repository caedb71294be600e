import fs from 'node:fs';
import zlib from 'node:zlib';
import { Header, type HeaderData } from 'tar';

export interface CraftedEntry { path: string; type: NonNullable<HeaderData['type']>; body?: string; linkpath?: string; devmaj?: number; devmin?: number }

/**
 * A tgz written header by header, so it can hold what `tar -c` of a real directory never would
 * (absolute names, `..`, device nodes, members behind a symbolic link): the hostile templates.
 */
export function craftTgz(file: string, entries: CraftedEntry[]): void {
  const blocks: Buffer[] = [];
  for (const e of entries) {
    const body = Buffer.from(e.body ?? '');
    const header = new Header({
      path: e.path, type: e.type, size: body.length, linkpath: e.linkpath, devmaj: e.devmaj, devmin: e.devmin,
      mode: e.type === 'Directory' ? 0o755 : 0o644, uid: 0, gid: 0, mtime: new Date(0),
    });
    const block = Buffer.alloc(512);
    header.encode(block, 0);
    blocks.push(block, body, Buffer.alloc((512 - (body.length % 512)) % 512));
  }
  blocks.push(Buffer.alloc(1024));
  fs.writeFileSync(file, zlib.gzipSync(Buffer.concat(blocks)));
}
