import { list, type ReadEntry } from 'tar';
import { PermanentDriverError } from '../drivers/instance-driver';

/** An archive with an entry no template may have; what the user uploaded, so no retry helps. */
export class UnsafeArchiveError extends PermanentDriverError {}
/** Not a gzipped tar at all. */
export class NotAnArchiveError extends PermanentDriverError {}

export interface TemplateListing {
  /** Member names without a leading `./`. */
  names: string[];
  /** What the rootfs takes unpacked (the regular files' sizes). */
  unpackedBytes: number;
  /** Kernel and initrd, when the template carries them under /boot. */
  boot: { kernel: string; initrd: string } | null;
}

const FILE_TYPES = new Set(['File', 'OldFile', 'ContiguousFile']);
const ALLOWED = new Set([...FILE_TYPES, 'Directory', 'SymbolicLink', 'Link', 'FIFO']);

/** Why a member name (or a hard link's target) could land outside the directory it is unpacked in, if it could. */
function escapes(name: string): string | null {
  if (name.startsWith('/')) return 'is absolute';
  if (name.split('/').includes('..')) return 'contains ..';
  if (name.includes('\0')) return 'contains a NUL';
  return null;
}

const strip = (name: string) => name.replace(/^(\.\/)+/, '').replace(/\/+$/, '');

/**
 * Reads a tgz template once: its listing, its unpacked size and its boot files, and refuses (with the
 * first offending member) what a template must not hold: absolute names, `..`, device nodes, hard
 * links out of the archive, and members reached through a symbolic link of the archive itself (with
 * `etc -> /etc` then `etc/hosts`, a root unpack would write the host's file).
 */
export async function inspectTemplate(tgz: string): Promise<TemplateListing> {
  const names: string[] = [];
  const files: string[] = [];
  const links: string[] = [];
  let unpackedBytes = 0;
  let refused: string | null = null;
  const check = (entry: ReadEntry): string | null => {
    const raw = entry.path;
    if (!ALLOWED.has(entry.type)) return `${raw}: a ${entry.type} entry`;
    const bad = escapes(raw);
    if (bad) return `${raw} ${bad}`;
    if (entry.type === 'Link') {
      const target = escapes(entry.linkpath ?? '');
      if (target) return `${raw}: its hard link target ${target}`;
    }
    const name = strip(raw);
    const through = links.find((l) => name.startsWith(`${l}/`));
    if (through) return `${raw} is reached through the symbolic link ${through}`;
    if (entry.type === 'SymbolicLink') links.push(name);
    if (FILE_TYPES.has(entry.type)) {
      unpackedBytes += entry.size;
      files.push(name);
    }
    names.push(name);
    return null;
  };
  try {
    await list({
      file: tgz,
      // Strict: a damaged or foreign file is an error, not an empty listing.
      strict: true,
      onReadEntry: (entry) => {
        refused ??= check(entry);
        entry.resume();
      },
    });
  } catch (err) {
    throw new NotAnArchiveError(`not a gzipped tar: ${(err as Error).message}`);
  }
  if (refused) throw new UnsafeArchiveError(`the template is refused: ${refused}`);
  if (names.length === 0) throw new NotAnArchiveError('not a gzipped tar: no entries');
  // Regular files only: a kernel that is a link could name anything once unpacked.
  const kernel = files.find((n) => /^boot\/vmlinuz(-[^/]*)?$/.test(n));
  const initrd = files.find((n) => /^boot\/initrd(\.img)?(-[^/]*)?$/.test(n));
  return { names, unpackedBytes, boot: kernel && initrd ? { kernel, initrd } : null };
}
