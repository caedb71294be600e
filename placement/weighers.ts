import type { Weigher } from './types';

// Higher is better. Fractions of capacity so that hosts of different sizes compare fairly.
export const cpuFreeWeigher: Weigher = {
  name: 'least used CPU', multiplier: 1,
  weigh: (h, _r, ratios) => 1 - h.usedVcpus / (h.vcpus * ratios.cpu),
};
export const memoryFreeWeigher: Weigher = {
  name: 'least used memory', multiplier: 1,
  weigh: (h, _r, ratios) => 1 - h.usedMemoryMb / (h.memoryMb * ratios.memory),
};
/** Spreads one app: every instance of it already on the host costs more than any usage difference. */
export const appSpreadWeigher: Weigher = {
  name: 'app spread', multiplier: 10,
  weigh: (h, r) => (r.app === null ? 0 : -h.appCount),
};

export const defaultWeighers: Weigher[] = [cpuFreeWeigher, memoryFreeWeigher, appSpreadWeigher];
