import fs from 'node:fs';
import path from 'node:path';
import { run, runAllowing } from './run';
import { checkSnapshotImage } from '../storage/dir-storage';

/** What debugfs prints for `ls -p /`: `/inode/mode/uid/gid/name/size/` per entry. */
export function rootEntries(listing: string): string[] {
  return listing.split('\n').map((l) => l.trim().split('/')).filter((f) => f.length >= 7).map((f) => f[5])
    .filter((name) => name !== '' && name !== '.' && name !== '..' && name !== 'lost+found' && !name.includes('"'));
}

/**
 * A VM snapshot (a qcow2 of an ext4 disk) made into a template tgz without mounting anything: the qcow2
 * is checked (no backing or data file), made raw in `work`, repaired on that private copy (`e2fsck -f -y`:
 * a snapshot may be crash-consistent), and its files dumped with their owners and modes by `debugfs
 * rdump`, then packed. The caller checks the archive as an upload is checked before it is an image.
 */
export async function diskSnapshotToTgz(qcow2: string, work: string, out: string): Promise<void> {
  fs.rmSync(work, { recursive: true, force: true });
  fs.mkdirSync(work, { recursive: true });
  try {
    await checkSnapshotImage(qcow2);
    const raw = path.join(work, 'disk.raw');
    const root = path.join(work, 'root');
    fs.mkdirSync(root, { mode: 0o755 });
    await run('qemu-img', ['convert', '-f', 'qcow2', '-O', 'raw', qcow2, raw], 600_000);
    await runAllowing('e2fsck', ['-f', '-y', raw], [1], 600_000);
    const entries = rootEntries(await run('debugfs', ['-R', 'ls -p /', raw]));
    // One rdump per entry: debugfs takes its request as one line, split on spaces.
    for (const name of entries) {
      if (/\s/.test(name)) continue;
      await run('debugfs', ['-R', `rdump "/${name}" "${root}"`, raw], 600_000);
    }
    fs.rmSync(raw, { force: true });
    await run('tar', ['--numeric-owner', '-czf', out, '-C', root, '.'], 600_000);
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
}
