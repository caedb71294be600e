import fs from 'node:fs';
import path from 'node:path';
import { PermanentDriverError } from '../drivers/instance-driver';

/** Links followed in one lookup before it is refused (as the kernel's ELOOP, at 40). */
const MAX_LINKS = 40;

/** A template that tries to lead out of its root: no retry makes it safe. */
export class UnsafePathError extends PermanentDriverError {}

/**
 * `rel` inside `root` as if `root` were `/`: symbolic links are followed with their absolute targets
 * taken from `root` and `..` stopping at it, so no link in an unpacked template leads out of it (a
 * template whose `etc` links to `/etc` must not let the root agent write the host's /etc/hosts).
 * The last component is followed only with `followLast`; components that do not exist yet are kept.
 */
export function resolveInRoot(root: string, rel: string, { followLast = true } = {}): string {
  const base = path.resolve(root);
  const split = (p: string) => p.split('/').filter((c) => c !== '' && c !== '.');
  let rest = split(rel);
  let resolved: string[] = [];
  let links = 0;
  while (rest.length > 0) {
    const name = rest.shift()!;
    if (name === '..') { resolved.pop(); continue; }
    const candidate = path.join(base, ...resolved, name);
    const stat = fs.lstatSync(candidate, { throwIfNoEntry: false });
    if (stat?.isSymbolicLink() && (rest.length > 0 || followLast)) {
      if (++links > MAX_LINKS) throw new UnsafePathError(`too many links resolving ${rel}`);
      const target = fs.readlinkSync(candidate);
      if (target.startsWith('/')) resolved = [];
      rest = [...split(target), ...rest];
      continue;
    }
    resolved.push(name);
  }
  return path.join(base, ...resolved);
}

/**
 * Writes `content` at `rel` inside `root` (see resolveInRoot), creating the directories on the way;
 * a link in the last place is replaced, not written through.
 */
export function writeInRoot(root: string, rel: string, content: string, mode = 0o644): void {
  const target = resolveInRoot(root, rel, { followLast: false });
  // Every directory on the way is a real one inside the root, or does not exist yet.
  fs.mkdirSync(path.dirname(target), { recursive: true });
  const existing = fs.lstatSync(target, { throwIfNoEntry: false });
  if (existing && !existing.isFile() && !existing.isSymbolicLink()) throw new UnsafePathError(`${rel} is not a file in the template`);
  fs.rmSync(target, { force: true });
  const { O_WRONLY, O_CREAT, O_EXCL, O_NOFOLLOW } = fs.constants;
  const fd = fs.openSync(target, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, mode);
  try {
    fs.writeSync(fd, content);
  } finally {
    fs.closeSync(fd);
  }
}
