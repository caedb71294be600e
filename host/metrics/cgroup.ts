import fs from 'node:fs';
import path from 'node:path';
import type { RawSample } from './sample';

// A container read from its cgroup (v1, as on this project's machines, or v2) and its host-side
// veth, never from inside it. Its cgroup is found from its init process, whatever the engine's layout.

const CGROUP_ROOT = '/sys/fs/cgroup';

const read = (file: string): string | null => {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch {
    return null;
  }
};
const num = (s: string | null): number => (s === null ? 0 : Number(s.trim()) || 0);
/** `key value` lines (memory.stat, cpu.stat). */
const keyed = (s: string | null): Map<string, number> =>
  new Map((s ?? '').split('\n').filter(Boolean).map((l) => { const [k, v] = l.trim().split(/\s+/); return [k, Number(v) || 0]; }));

/** The cgroup of each controller (v1), or the one unified path (v2, key ''), of a process. */
export function cgroupsOf(pid: number): Map<string, string> | null {
  const text = read(`/proc/${pid}/cgroup`);
  if (text === null) return null;
  const out = new Map<string, string>();
  for (const line of text.split('\n').filter(Boolean)) {
    const [, controllers, p] = line.split(':');
    if (p === undefined || p.includes('..')) continue;
    for (const c of controllers.split(',')) out.set(c, p);
  }
  return out;
}

/** Whether the machine runs cgroup v2 only (memory.current sits at the root's children there). */
const unifiedOnly = (): boolean => fs.existsSync(path.join(CGROUP_ROOT, 'cgroup.controllers'));

/**
 * cgroup v1 does not charge buffered writeback to the cgroup that dirtied the pages (and on these
 * machines its blkio counters stay at zero even for direct I/O), so v1 reads the storage I/O the
 * container's processes caused (`/proc/<pid>/io`: bytes, and read/write calls as operations); a
 * process's counters include its reaped children's, so the sum over the cgroup's processes only
 * grows while the container lives.
 */
function processIoV1(cgroupDir: string): { rb: number; wb: number; ro: number; wo: number } {
  const out = { rb: 0, wb: 0, ro: 0, wo: 0 };
  for (const pid of (read(path.join(cgroupDir, 'cgroup.procs')) ?? '').split('\n').filter(Boolean)) {
    if (!/^\d+$/.test(pid)) continue;
    const io = keyed((read(`/proc/${pid}/io`) ?? '').replace(/:/g, ''));
    out.rb += io.get('read_bytes') ?? 0;
    out.wb += io.get('write_bytes') ?? 0;
    out.ro += io.get('syscr') ?? 0;
    out.wo += io.get('syscw') ?? 0;
  }
  return out;
}

function ioV2(dir: string): { rb: number; wb: number; ro: number; wo: number } {
  const out = { rb: 0, wb: 0, ro: 0, wo: 0 };
  for (const line of (read(path.join(dir, 'io.stat')) ?? '').split('\n').filter(Boolean)) {
    for (const kv of line.split(/\s+/).slice(1)) {
      const [k, v] = kv.split('=');
      const n = Number(v) || 0;
      if (k === 'rbytes') out.rb += n; else if (k === 'wbytes') out.wb += n; else if (k === 'rios') out.ro += n; else if (k === 'wios') out.wo += n;
    }
  }
  return out;
}

/** The host side of a veth: what it receives the container sent, and the other way round. */
function vethCounters(hostVeth: string | null) {
  const stat = (k: string) => (hostVeth ? num(read(`/sys/class/net/${hostVeth}/statistics/${k}`)) : 0);
  return { netRxBytes: stat('tx_bytes'), netTxBytes: stat('rx_bytes'), netRxPackets: stat('tx_packets'), netTxPackets: stat('rx_packets') };
}

/**
 * One reading of a container by its init pid; null when the process is gone, or (given the
 * container's id) when the pid is no longer that container's: its cgroup no longer names it.
 */
export function readContainer(pid: number, hostVeth: string | null, containerId?: string, at = Date.now()): RawSample | null {
  const groups = cgroupsOf(pid);
  if (!groups || (containerId && ![...groups.values()].some((p) => p.includes(containerId)))) return null;
  const unified = groups.get('');
  if (unifiedOnly() && unified !== undefined) {
    const dir = path.join(CGROUP_ROOT, unified);
    const mem = keyed(read(path.join(dir, 'memory.stat')));
    const max = read(path.join(dir, 'memory.max'))?.trim();
    const io = ioV2(dir);
    return {
      at, cpuNanos: (keyed(read(path.join(dir, 'cpu.stat'))).get('usage_usec') ?? 0) * 1000,
      memoryUsedBytes: Math.max(0, num(read(path.join(dir, 'memory.current'))) - (mem.get('inactive_file') ?? 0)),
      memoryLimitBytes: !max || max === 'max' ? null : Number(max),
      diskReadBytes: io.rb, diskWriteBytes: io.wb, diskReadOps: io.ro, diskWriteOps: io.wo, ...vethCounters(hostVeth),
    };
  }
  const dir = (controller: string) => path.join(CGROUP_ROOT, controller, groups.get(controller) ?? '/');
  const mem = keyed(read(path.join(dir('memory'), 'memory.stat')));
  const limit = num(read(path.join(dir('memory'), 'memory.limit_in_bytes')));
  const io = processIoV1(dir('cpuacct'));
  return {
    at, cpuNanos: num(read(path.join(dir('cpuacct'), 'cpuacct.usage'))),
    memoryUsedBytes: Math.max(0, num(read(path.join(dir('memory'), 'memory.usage_in_bytes'))) - (mem.get('total_inactive_file') ?? 0)),
    // v1 says "no limit" with a huge number.
    memoryLimitBytes: limit > 0 && limit < 2 ** 60 ? limit : null,
    diskReadBytes: io.rb, diskWriteBytes: io.wb, diskReadOps: io.ro, diskWriteOps: io.wo, ...vethCounters(hostVeth),
  };
}
