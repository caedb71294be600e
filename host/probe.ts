import { inCidr, isIpv4 } from '../lib/net';
import { runAllowing } from './run';

export interface ProbeRequest { bridge: string; subnet: string; addresses: string[] }

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
  const bad = req.addresses.find((a) => !isIpv4(a) || !inCidr(a, req.subnet));
  if (bad) throw new Error(`refusing to probe ${bad}: not an address of ${req.subnet}`);
  const answered: string[] = [];
  for (let i = 0; i < req.addresses.length; i += CHUNK) {
    const out = await runAllowing('fping', fpingArgs(req.bridge, req.addresses.slice(i, i + CHUNK)), [1], 30_000);
    answered.push(...out.split('\n').map((l) => l.trim()).filter((l) => isIpv4(l)));
  }
  return answered;
}
