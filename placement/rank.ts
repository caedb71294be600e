import { defaultFilters } from './filters';
import { defaultWeighers } from './weighers';
import type { Filter, HostCandidate, PlacementRequest, Ratios, Weigher } from './types';

export interface Ranking { hosts: HostCandidate[]; rejectedBy: Record<string, number> }

/** Filters, weighs and orders hosts; ties break by host id so the answer is deterministic. */
export function rankHosts(hosts: HostCandidate[], request: PlacementRequest, ratios: Ratios,
  filters: Filter[] = defaultFilters, weighers: Weigher[] = defaultWeighers): Ranking {
  const rejectedBy: Record<string, number> = {};
  const passing = hosts.filter((h) => {
    const failed = filters.find((f) => !f.passes(h, request, ratios));
    if (failed) rejectedBy[failed.name] = (rejectedBy[failed.name] ?? 0) + 1;
    return !failed;
  });
  const score = new Map(passing.map((h) => [h.id,
    weighers.reduce((sum, w) => sum + w.multiplier * w.weigh(h, request, ratios), 0)]));
  passing.sort((a, b) => score.get(b.id)! - score.get(a.id)! || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  return { hosts: passing, rejectedBy };
}

export function explainNoHost(total: number, rejectedBy: Record<string, number>): string {
  if (total === 0) return 'no host in the zone';
  const reasons = Object.entries(rejectedBy).map(([name, n]) => `${n} failed "${name}"`).join(', ');
  return `no host fits: ${total} host(s) considered, ${reasons}`;
}
