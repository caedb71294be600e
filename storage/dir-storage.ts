import fs from 'node:fs';
import path from 'node:path';
import { run, runAllowing } from '../host/run';
import { PermanentDriverError, instanceResourceName } from '../drivers/instance-driver';
import { GIB, diskOwner, growFsCommands, mkfsArgs, type StorageDriver } from './storage-driver';

/** A raw file per disk under one directory; built under a temporary name and renamed when whole. */
export class DirStorage implements StorageDriver {
  readonly name = 'dir' as const;
  constructor(private readonly dir: string) {
    fs.mkdirSync(dir, { recursive: true });
  }

  diskFor(instanceId: string) {
    return { type: 'file' as const, path: path.join(this.dir, `${instanceResourceName(instanceId)}.raw`) };
  }

  async exists(instanceId: string): Promise<boolean> {
    return fs.existsSync(this.diskFor(instanceId).path);
  }

  async createDisk(instanceId: string, sizeGb: number, rootfsDir: string): Promise<void> {
    const { path: target } = this.diskFor(instanceId);
    if (fs.existsSync(target)) return;
    const partial = `${target}.partial`;
    fs.rmSync(partial, { force: true });
    try {
      await run('mkfs.ext4', [...mkfsArgs(rootfsDir), partial, `${sizeGb}G`], 300_000);
    } catch (err) {
      fs.rmSync(partial, { force: true });
      throw new PermanentDriverError(`the image does not fit on a ${sizeGb} GB disk: ${lastLine(err)}`);
    }
    fs.renameSync(partial, target);
  }

  async restoreDisk(instanceId: string, sizeGb: number, rawImagePath: string): Promise<void> {
    const { path: target } = this.diskFor(instanceId);
    if (fs.existsSync(target)) return;
    const partial = `${target}.partial`;
    await checkSnapshotImage(rawImagePath);
    await run('qemu-img', ['convert', '-f', 'qcow2', '-O', 'raw', rawImagePath, partial], 600_000);
    // A snapshot restored onto a bigger disk (a resize that moves) fills it: the file, then its ext4.
    if (fs.statSync(partial).size < sizeGb * GIB) await run('qemu-img', ['resize', '-f', 'raw', partial, `${sizeGb}G`]);
    for (const [cmd, ...args] of growFsCommands(partial)) await runFsck(cmd, args);
    fs.renameSync(partial, target);
  }

  async removeDisk(instanceId: string): Promise<void> {
    const { path: target } = this.diskFor(instanceId);
    fs.rmSync(target, { force: true });
    fs.rmSync(`${target}.partial`, { force: true });
  }

  async diskGb(instanceId: string): Promise<number> {
    return Math.floor(fs.statSync(this.diskFor(instanceId).path).size / GIB);
  }

  async growDisk(instanceId: string, sizeGb: number): Promise<void> {
    const { path: file } = this.diskFor(instanceId);
    if (fs.statSync(file).size < sizeGb * GIB) await run('qemu-img', ['resize', '-f', 'raw', file, `${sizeGb}G`]);
    for (const [cmd, ...args] of growFsCommands(file)) await runFsck(cmd, args);
  }

  async list(): Promise<string[]> {
    return [...new Set(fs.readdirSync(this.dir).map(diskOwner).filter((id): id is string => id !== null))];
  }
}

/**
 * A snapshot is a qcow2 the platform wrote, but it holds what a guest wrote: it must not name a
 * backing file or an external data file (a host file would end up on the new disk).
 */
export async function checkSnapshotImage(file: string): Promise<void> {
  const info = JSON.parse(await run('qemu-img', ['info', '--output=json', '-f', 'qcow2', file]));
  if (info['backing-filename'] || info['full-backing-filename'] || info['format-specific']?.data?.['data-file']) {
    throw new PermanentDriverError('the snapshot image names a backing or data file: refused');
  }
}

export const lastLine = (err: unknown): string => String((err as Error).message).trim().split('\n').filter(Boolean).pop() ?? '';

/** e2fsck exits 1 when it corrected something (a journal replayed): the filesystem is then clean. */
export async function runFsck(cmd: string, args: string[], exec: (file: string, args: string[]) => Promise<string> = run): Promise<void> {
  if (cmd === 'e2fsck' && exec === run) await runAllowing(cmd, args, [1], 600_000);
  else await exec(cmd, args);
}
