import type { RawSample } from './sample';

/**
 * `virsh domstats --raw` for every domain in one call (libvirt's bulk statistics: no call per
 * domain, so a busy domain cannot hold up the others), read into samples by domain name.
 */
export function parseDomstats(text: string, at = Date.now()): Map<string, RawSample> {
  const out = new Map<string, RawSample>();
  let name: string | null = null;
  let f = new Map<string, string>();
  const flush = () => {
    if (name === null || f.get('state.state') !== '1') return;
    const n = (k: string) => Number(f.get(k) ?? 0) || 0;
    const sumOver = (prefix: string, count: number, key: string) => Array.from({ length: count }, (_, i) => n(`${prefix}.${i}.${key}`)).reduce((a, b) => a + b, 0);
    const blocks = n('block.count');
    const nets = n('net.count');
    out.set(name, {
      at, cpuNanos: n('cpu.time'),
      // The balloon's view when the guest reports it (`unused`), else what the process holds of the guest's memory.
      memoryUsedBytes: (f.has('balloon.unused') ? n('balloon.current') - n('balloon.unused') : Math.min(n('balloon.rss'), n('balloon.current'))) * 1024,
      memoryLimitBytes: n('balloon.current') * 1024 || null,
      diskReadBytes: sumOver('block', blocks, 'rd.bytes'), diskWriteBytes: sumOver('block', blocks, 'wr.bytes'),
      diskReadOps: sumOver('block', blocks, 'rd.reqs'), diskWriteOps: sumOver('block', blocks, 'wr.reqs'),
      netRxBytes: sumOver('net', nets, 'rx.bytes'), netTxBytes: sumOver('net', nets, 'tx.bytes'),
      netRxPackets: sumOver('net', nets, 'rx.pkts'), netTxPackets: sumOver('net', nets, 'tx.pkts'),
    });
  };
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    const domain = /^Domain: '([^']+)'$/.exec(line);
    if (domain) {
      flush();
      name = domain[1];
      f = new Map();
    } else if (line.includes('=')) {
      const i = line.indexOf('=');
      f.set(line.slice(0, i), line.slice(i + 1));
    }
  }
  flush();
  return out;
}
