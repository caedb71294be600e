import { fpingArgs, probeAddresses } from '../../host/probe';

describe('the address probe', () => {
  test('fping: one echo and one retry each, 300 ms timeout, bound to the zone bridge', () => {
    expect(fpingArgs('vctest0', ['10.214.0.10', '10.214.0.11'])).toEqual(['-a', '-q', '-r', '1', '-t', '300', '-i', '2', '-I', 'vctest0', '10.214.0.10', '10.214.0.11']);
  });
  test('refuses any address outside the zone subnet and bad bridge names, before sending anything', async () => {
    await expect(probeAddresses({ bridge: 'vctest0', subnet: '10.214.0.0/24', addresses: ['10.214.0.10', '8.8.8.8'] })).rejects.toThrow(/refusing to probe 8.8.8.8/);
    await expect(probeAddresses({ bridge: 'vctest0', subnet: '10.214.0.0/24', addresses: ['10.214.0.10; reboot'] })).rejects.toThrow(/refusing/);
    await expect(probeAddresses({ bridge: 'br0 -c 100', subnet: '10.214.0.0/24', addresses: [] })).rejects.toThrow(/bad bridge/);
  });
});
