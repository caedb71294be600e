import fs from 'node:fs';
import os from 'node:os';
import type { NumaNode } from '../db/hosts';

/** "0-3,8-11" -> [0,1,2,3,8,9,10,11] */
export function parseCpuList(text: string): number[] {
  const cpus: number[] = [];
  for (const part of text.trim().split(',').filter(Boolean)) {
    const [a, b] = part.split('-').map(Number);
    for (let c = a; c <= (b ?? a); c++) cpus.push(c);
  }
  return cpus;
}

/** NUMA nodes from sysfs; a machine without them is one node holding every CPU. */
export function readNumaTopology(sysRoot = '/sys/devices/system/node'): NumaNode[] {
  try {
    const nodes = fs.readdirSync(sysRoot).filter((d) => /^node\d+$/.test(d)).map((d) => {
      const id = Number(d.slice(4));
      const cpus = parseCpuList(fs.readFileSync(`${sysRoot}/${d}/cpulist`, 'utf8'));
      const meminfo = fs.readFileSync(`${sysRoot}/${d}/meminfo`, 'utf8');
      const kb = Number(/MemTotal:\s+(\d+)/.exec(meminfo)?.[1] ?? 0);
      return { id, cpus, memoryMb: Math.floor(kb / 1024) };
    }).filter((n) => n.cpus.length > 0);
    if (nodes.length > 0) return nodes.sort((a, b) => a.id - b.id);
  } catch {
    // fall through: no sysfs NUMA information here
  }
  return [{ id: 0, cpus: os.cpus().map((_c, i) => i), memoryMb: Math.floor(os.totalmem() / 2 ** 20) }];
}

export function diskGbFree(dir: string): number {
  const s = fs.statfsSync(dir);
  return Math.floor((s.bavail * s.bsize) / 2 ** 30);
}
