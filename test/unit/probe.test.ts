import { fpingArgs, probeAddresses, requestedAddresses } from '../../host/probe';
import { fromRanges, intToIp, ipToInt, toRanges } from '../../lib/net';

describe('the address probe', () => {
  test('fping: one echo and one retry each, 300 ms timeout, bound to the zone bridge', () => {
    expect(fpingArgs('vctest0', ['10.214.0.10', '10.214.0.11'])).toEqual(['-a', '-q', '-r', '1', '-t', '300', '-i', '2', '-I', 'vctest0', '10.214.0.10', '10.214.0.11']);
  });
  test('refuses any address outside the zone subnet and bad bridge names, before sending anything', async () => {
    await expect(probeAddresses({ bridge: 'vctest0', subnet: '10.214.0.0/24', addresses: ['10.214.0.10', '8.8.8.8'] })).rejects.toThrow(/refusing to probe 8.8.8.8/);
    await expect(probeAddresses({ bridge: 'vctest0', subnet: '10.214.0.0/24', addresses: ['10.214.0.10; reboot'] })).rejects.toThrow(/refusing/);
    await expect(probeAddresses({ bridge: 'br0 -c 100', subnet: '10.214.0.0/24', addresses: [] })).rejects.toThrow(/bad bridge/);
    // A run that reaches outside the subnet is refused the same way.
    await expect(probeAddresses({ bridge: 'vctest0', subnet: '10.214.0.0/24', ranges: [['10.214.0.250', '10.214.1.3']] })).rejects.toThrow(/refusing to probe 10.214.0.255/);
  });
  test('a /16 pool travels as a few runs and comes back the same addresses', () => {
    const free = Array.from({ length: 65_000 }, (_, k) => intToIp(ipToInt('10.70.0.10') + k)).filter((_, k) => k % 1000 !== 7);
    const ranges = toRanges([...free].reverse());
    expect(ranges).toHaveLength(66); // 65 holes
    expect(ranges[0]).toEqual(['10.70.0.10', '10.70.0.16']);
    expect(JSON.stringify(ranges).length).toBeLessThan(3000);
    expect(fromRanges(ranges)).toEqual(free);
    expect(requestedAddresses({ bridge: 'b', subnet: '10.70.0.0/16', addresses: ['10.70.255.1'], ranges: [['10.70.0.1', '10.70.0.2']] }))
      .toEqual(['10.70.255.1', '10.70.0.1', '10.70.0.2']);
    expect(toRanges([])).toEqual([]);
  });
  test('a run backwards, or one of more than 65,536 addresses, is refused', () => {
    expect(() => fromRanges([['10.0.0.9', '10.0.0.1']])).toThrow(/bad address range/);
    expect(() => fromRanges([['10.0.0.0', '10.2.0.0']])).toThrow(/more than 65536/);
  });
});
