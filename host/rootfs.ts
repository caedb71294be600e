import fs from 'node:fs';
import { run } from './run';
import { resolveInRoot, writeInRoot } from './in-root';

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

/** The identity files written into an unpacked template, every path resolved inside it (never through a link out). */
export function writePersonality(dir: string, p: Personality): void {
  for (const [rel, content] of Object.entries(personalityFiles(p))) writeInRoot(dir, rel, content);
}

/** root's authorized_keys in an unpacked template (resolved inside it, as the personality is): 0700 directory, 0600 file, as sshd wants. */
export function writeAuthorizedKeys(dir: string, keys: string): void {
  writeInRoot(dir, 'root/.ssh/authorized_keys', keys, 0o600);
  // Links resolved inside the template: what is changed is the real directory the file went into.
  const sshDir = resolveInRoot(dir, 'root/.ssh');
  if (fs.lstatSync(sshDir).isDirectory()) fs.chmodSync(sshDir, 0o700);
}
