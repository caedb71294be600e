// IPv4 helpers. Addresses are validated before they reach any command line.
const IPV4 = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;

export const isIpv4 = (s: string): boolean => IPV4.test(s);

export function ipToInt(ip: string): number {
  if (!isIpv4(ip)) throw new Error(`not an IPv4 address: ${ip}`);
  return ip.split('.').reduce((acc, part) => acc * 256 + Number(part), 0);
}

export function intToIp(n: number): string {
  return [24, 16, 8, 0].map((shift) => Math.floor(n / 2 ** shift) % 256).join('.');
}

export function parseCidr(cidr: string): { network: number; prefix: number; size: number } {
  const [ip, prefixText] = cidr.split('/');
  const prefix = Number(prefixText);
  if (!isIpv4(ip ?? '') || !Number.isInteger(prefix) || prefix < 8 || prefix > 30) {
    throw new Error(`not an IPv4 CIDR between /8 and /30: ${cidr}`);
  }
  const size = 2 ** (32 - prefix);
  const network = Math.floor(ipToInt(ip!) / size) * size;
  return { network, prefix, size };
}

export function inCidr(ip: string, cidr: string): boolean {
  const { network, size } = parseCidr(cidr);
  const n = ipToInt(ip);
  return n > network && n < network + size - 1;
}

/** Locally administered unicast MAC carrying the IP, so a migrated instance keeps both. */
export function macFromIp(ip: string): string {
  const octets = ip.split('.').map((p) => Number(p).toString(16).padStart(2, '0'));
  return ['52', '54', ...octets].join(':');
}

/** `<zone>-<app>-<third>-<fourth>`, cut to a DNS label. */
export function hostnameFor(zone: string, app: string, ip: string): string {
  const [, , third, fourth] = ip.split('.');
  return [zone, app, third, fourth].join('-').slice(0, 63).replace(/-+$/, '');
}

export const DNS_LABEL = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;

/** Runs of consecutive addresses, `[first, last]`: a /16 pool's free addresses in a few entries, not 65,000. */
export type AddressRange = [string, string];

export function toRanges(addresses: string[]): AddressRange[] {
  const sorted = [...new Set(addresses.map(ipToInt))].sort((a, b) => a - b);
  const ranges: AddressRange[] = [];
  let start = sorted[0];
  for (let k = 1; k <= sorted.length; k++) {
    if (k < sorted.length && sorted[k] === sorted[k - 1]! + 1) continue;
    if (start !== undefined) ranges.push([intToIp(start), intToIp(sorted[k - 1]!)]);
    start = sorted[k];
  }
  return ranges;
}

/** The addresses of the runs, at most `max` of them (a bad request cannot make a host count to 2^32). */
export function fromRanges(ranges: AddressRange[], max = 65536): string[] {
  const out: string[] = [];
  for (const [first, last] of ranges) {
    const a = ipToInt(first);
    const b = ipToInt(last);
    if (b < a) throw new Error(`bad address range ${first}-${last}`);
    if (out.length + (b - a + 1) > max) throw new Error(`more than ${max} addresses in the ranges`);
    for (let n = a; n <= b; n++) out.push(intToIp(n));
  }
  return out;
}
