import fs from 'node:fs';
import path from 'node:path';
import { run } from './run';

export interface Personality { hostname: string; ip: string; prefix: number; gateway: string; mac: string }

/** Unpacks a tgz template into `dir` as root-owned files, the way the image was made. */
export async function unpackTgz(tgz: string, dir: string): Promise<void> {
  fs.mkdirSync(dir, { recursive: true });
  await run('tar', ['-xzf', tgz, '-C', dir, '--numeric-owner', '--same-owner'], 300_000);
}

/** Pure: the files that give a rootfs its identity (also read by the template's init). */
export function personalityFiles(p: Personality): Record<string, string> {
  return {
    'etc/hostname': `${p.hostname}\n`,
    'etc/hosts': `127.0.0.1 localhost\n${p.ip} ${p.hostname}\n`,
    'etc/vcloud/network': `IP=${p.ip}\nPREFIX=${p.prefix}\nGATEWAY=${p.gateway}\nMAC=${p.mac}\n`,
    'etc/network/interfaces': `auto lo\niface lo inet loopback\n\nauto eth0\niface eth0 inet static\n  address ${p.ip}/${p.prefix}\n  gateway ${p.gateway}\n  hwaddress ether ${p.mac}\n`,
  };
}

export function writePersonality(dir: string, p: Personality): void {
  for (const [rel, content] of Object.entries(personalityFiles(p))) {
    const target = path.join(dir, rel);
    fs.mkdirSync(path.dirname(target), { recursive: true });
    fs.rmSync(target, { force: true }); // may be a symlink in the image; never write through it
    fs.writeFileSync(target, content);
  }
}

/** Bytes the rootfs of a tgz takes unpacked, from its listing. */
export async function unpackedBytes(tgz: string): Promise<number> {
  const listing = await run('tar', ['-tvzf', tgz], 300_000);
  return listing.split('\n').reduce((sum, line) => sum + (Number(line.trim().split(/\s+/)[2]) || 0), 0);
}

/** Kernel and initrd of a template, when it carries them under /boot. */
export async function bootFiles(tgz: string): Promise<{ kernel: string; initrd: string } | null> {
  const names = (await run('tar', ['-tzf', tgz], 300_000)).split('\n').map((n) => n.replace(/^\.\//, ''));
  const kernel = names.find((n) => /^boot\/vmlinuz(-[^/]*)?$/.test(n));
  const initrd = names.find((n) => /^boot\/initrd(\.img)?(-[^/]*)?$/.test(n));
  return kernel && initrd ? { kernel, initrd } : null;
}
