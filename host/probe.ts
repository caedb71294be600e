import { fromRanges, inCidr, isIpv4, type AddressRange } from '../lib/net';
import { runAllowing } from './run';

/** The addresses to probe, listed, or (a zone's whole pool) as runs of consecutive addresses. */
export interface ProbeRequest { bridge: string; subnet: string; addresses?: string[]; ranges?: AddressRange[] }

/** A request's addresses, the runs expanded. */
export const requestedAddresses = (req: ProbeRequest): string[] => [...(req.addresses ?? []), ...fromRanges(req.ranges ?? [])];

const BRIDGE = /^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,14}$/;
const CHUNK = 256;

/** Pure: the fping arguments for one chunk (one echo each, one retry, 300 ms timeout, bound to the bridge). */
export function fpingArgs(bridge: string, addresses: string[]): string[] {
  return ['-a', '-q', '-r', '1', '-t', '300', '-i', '2', '-I', bridge, ...addresses];
}

/**
 * Which of the addresses answer an ICMP echo, sent out of the zone bridge only. Refuses any
 * address outside the zone subnet, so a bad request can never make the agent probe elsewhere.
 * Chunks run one after another: at most CHUNK probes are in flight.
 */
export async function probeAddresses(req: ProbeRequest): Promise<string[]> {
  if (!BRIDGE.test(req.bridge)) throw new Error(`bad bridge name ${req.bridge}`);
  const addresses = requestedAddresses(req);
  const bad = addresses.find((a) => !isIpv4(a) || !inCidr(a, req.subnet));
  if (bad) throw new Error(`refusing to probe ${bad}: not an address of ${req.subnet}`);
  const answered: string[] = [];
  for (let i = 0; i < addresses.length; i += CHUNK) {
    const out = await runAllowing('fping', fpingArgs(req.bridge, addresses.slice(i, i + CHUNK)), [1], 30_000);
    answered.push(...out.split('\n').map((l) => l.trim()).filter((l) => isIpv4(l)));
  }
  return answered;
}
