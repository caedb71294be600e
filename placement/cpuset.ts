import type { NumaNode } from '../db/hosts';

/**
 * The least-used CPUs, inside one NUMA node when one node has enough CPUs; ties by CPU id.
 * `usage` counts how many live instances are pinned to each CPU.
 */
export function chooseCpuset(nodes: NumaNode[], usage: Map<number, number>, vcpus: number): number[] {
  const load = (cpu: number) => usage.get(cpu) ?? 0;
  const pick = (cpus: number[]) => [...cpus].sort((a, b) => load(a) - load(b) || a - b).slice(0, vcpus).sort((a, b) => a - b);
  const total = (cpus: number[]) => cpus.reduce((s, c) => s + load(c), 0);
  const fitting = nodes.filter((n) => n.cpus.length >= vcpus);
  if (fitting.length > 0) {
    const options = fitting.map((n) => ({ node: n.id, cpus: pick(n.cpus) }));
    options.sort((a, b) => total(a.cpus) - total(b.cpus) || a.node - b.node);
    return options[0].cpus;
  }
  const all = nodes.flatMap((n) => n.cpus);
  if (all.length < vcpus) throw new Error(`host has ${all.length} CPUs, instance needs ${vcpus}`);
  return pick(all);
}
