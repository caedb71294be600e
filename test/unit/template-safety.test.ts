import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { inspectTemplate, NotAnArchiveError, UnsafeArchiveError } from '../../host/template-archive';
import { unpackTgz, writePersonality } from '../../host/rootfs';
import { resolveInRoot, UnsafePathError } from '../../host/in-root';
import { craftTgz, type CraftedEntry } from '../helpers/tgz';

// Hostile templates, crafted header by header, against the real checks and a real (root) GNU tar unpack.
describe('templates cannot reach the host', () => {
  let dir: string;
  beforeEach(() => { dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vcloud-template-')); });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));
  const tgz = (entries: CraftedEntry[]) => { const f = path.join(dir, 't.tgz'); craftTgz(f, entries); return f; };
  const personality = { hostname: 'web-0-10', ip: '10.214.0.10', prefix: 24, gateway: '10.214.0.1', mac: '52:54:0a:d6:00:0a' };

  test('a sound template: its listing, unpacked size and boot files (regular files only)', async () => {
    const listing = await inspectTemplate(tgz([
      { path: './', type: 'Directory' }, { path: './boot/', type: 'Directory' },
      { path: './boot/vmlinuz', type: 'SymbolicLink', linkpath: '/etc/shadow' },
      { path: './boot/vmlinuz-6.1.0', type: 'File', body: 'k'.repeat(700) },
      { path: './boot/initrd.img-6.1.0', type: 'File', body: 'i'.repeat(300) },
      { path: './sbin/vcloud-init', type: 'File', body: '#!/bin/sh\n' },
      { path: './bin/sh', type: 'Link', linkpath: './sbin/vcloud-init' },
    ]));
    expect(listing.boot).toEqual({ kernel: 'boot/vmlinuz-6.1.0', initrd: 'boot/initrd.img-6.1.0' });
    expect(listing.unpackedBytes).toBe(1010);
    expect(listing.names).toContain('sbin/vcloud-init');
  });

  test.each<[string, CraftedEntry[], RegExp]>([
    ['an absolute member', [{ path: '/etc/cron.d/evil', type: 'File', body: 'x' }], /is absolute/],
    ['a member with ..', [{ path: './etc/../../../root/.ssh/authorized_keys', type: 'File', body: 'x' }], /contains \.\./],
    ['a character device', [{ path: './dev/mem', type: 'CharacterDevice', devmaj: 1, devmin: 1 }], /CharacterDevice/],
    ['a block device', [{ path: './disk', type: 'BlockDevice', devmaj: 8, devmin: 0 }], /BlockDevice/],
    ['a hard link out of the archive', [{ path: './shadow', type: 'Link', linkpath: '/etc/shadow' }], /hard link target is absolute/],
    ['a member behind a link of the archive', [
      { path: './etc', type: 'SymbolicLink', linkpath: '/etc' }, { path: './etc/hosts', type: 'File', body: '6.6.6.6 evil\n' },
    ], /reached through the symbolic link etc/],
  ])('%s is refused', async (_name, entries, reason) => {
    const refused = await inspectTemplate(tgz([{ path: './', type: 'Directory' }, ...entries])).catch((err: unknown) => err);
    expect(refused).toBeInstanceOf(UnsafeArchiveError);
    expect((refused as Error).message).toMatch(reason);
  });

  test('not a tgz at all is refused as such', async () => {
    const f = path.join(dir, 'junk.tgz');
    fs.writeFileSync(f, 'not gzip');
    await expect(inspectTemplate(f)).rejects.toBeInstanceOf(NotAnArchiveError);
  });

  test('an unpacked template whose etc links out: the identity files land inside it, the outside is untouched', async () => {
    const outside = path.join(dir, 'host-etc');
    fs.mkdirSync(outside);
    fs.writeFileSync(path.join(outside, 'hosts'), 'the host\n');
    const root = path.join(dir, 'root');
    // Both kinds of link out: an absolute one, and one that climbs with ..
    const file = tgz([
      { path: './', type: 'Directory' },
      { path: './etc', type: 'SymbolicLink', linkpath: outside },
      { path: './vcloud-link', type: 'SymbolicLink', linkpath: '../../../../../../..' + outside },
    ]);
    await inspectTemplate(file);
    await unpackTgz(file, root);
    expect(fs.lstatSync(path.join(root, 'etc')).isSymbolicLink()).toBe(true);
    writePersonality(root, personality);
    expect(fs.readFileSync(path.join(outside, 'hosts'), 'utf8')).toBe('the host\n');
    expect(fs.readdirSync(outside)).toEqual(['hosts']);
    // As the guest will see it: /etc is the link, read from the guest's own root.
    const inGuest = path.join(root, outside);
    expect(fs.readFileSync(path.join(inGuest, 'hosts'), 'utf8')).toContain('10.214.0.10 web-0-10');
    expect(fs.readFileSync(path.join(inGuest, 'hostname'), 'utf8')).toBe('web-0-10\n');
    expect(resolveInRoot(root, 'vcloud-link/hosts')).toBe(path.join(root, outside, 'hosts'));
  });

  test('an identity file that is a link is replaced, not written through; a link loop is refused', () => {
    const root = path.join(dir, 'root');
    fs.mkdirSync(path.join(root, 'etc'), { recursive: true });
    const victim = path.join(dir, 'victim');
    fs.writeFileSync(victim, 'keep me\n');
    fs.symlinkSync(victim, path.join(root, 'etc', 'hostname'));
    writePersonality(root, personality);
    expect(fs.readFileSync(victim, 'utf8')).toBe('keep me\n');
    expect(fs.lstatSync(path.join(root, 'etc', 'hostname')).isFile()).toBe(true);

    fs.symlinkSync('b', path.join(root, 'a'));
    fs.symlinkSync('a', path.join(root, 'b'));
    expect(() => resolveInRoot(root, 'a/x')).toThrow(UnsafePathError);
  });
});
