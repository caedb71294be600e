import { probeAddresses } from '../host/probe';
import { intToIp, ipToInt } from '../lib/net';
import { run } from '../host/run';
import { writeResult, intArg } from './stats';

// The time to probe a /24 of free addresses as the host activity does, on the test bridge only
// (its gateway address is the only thing on it that answers, and it is not probed).
const RUNS = intArg('runs', 3, 10);
const BRIDGE = 'vctest0';
const SUBNET = '10.214.0.0/24';

async function main() {
  if (!(await run('ip', ['-4', 'addr', 'show', 'dev', BRIDGE]).catch(() => '')).includes('10.214.0.1/24')) {
    throw new Error(`the test bridge ${BRIDGE} with 10.214.0.1/24 is missing: run npm test once, which makes it`);
  }
  const addresses = Array.from({ length: 253 }, (_, i) => intToIp(ipToInt('10.214.0.2') + i));
  const times: number[] = [];
  let answered: string[] = [];
  for (let r = 0; r < RUNS; r++) {
    const t0 = performance.now();
    answered = await probeAddresses({ bridge: BRIDGE, subnet: SUBNET, addresses });
    times.push(performance.now() - t0);
  }
  const result = { benchmark: 'ip-health', at: new Date().toISOString(), addresses: addresses.length, runs: RUNS,
    secondsEach: times.map((t) => +(t / 1000).toFixed(2)), answered: answered.length };
  console.log(`ip-health: ${addresses.length} addresses probed in ${result.secondsEach.join(' s, ')} s (${answered.length} answered)`);
  console.log(`written to ${writeResult('ip-health', result)}`);
}
main().catch((err) => { console.error(err); process.exit(1); });
