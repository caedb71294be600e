import { proxyActivities } from '@temporalio/workflow';
import { control } from './activity-options';
import { hostProbeQueue } from '../lib/host-queue';
import { verdict, type Verdict } from '../lib/host-verdict';
import type { Facts } from '../activities/control/failover-activities';

interface Probe { probeHost(): Promise<{ hostId: string; kinds: string[]; at: string }> }

/**
 * The liveness rule applied (lib/host-verdict.ts): the host's facts from the database, and a probe
 * on its own probe queue (its own worker slots), which a host busy with ordinary work still takes.
 */
export async function judgeHost(hostId: string): Promise<{ verdict: Verdict; facts: Facts; probeAnswered: boolean }> {
  const facts = await control.hostFacts(hostId);
  const probe = proxyActivities<Probe>({
    taskQueue: hostProbeQueue(hostId), scheduleToStartTimeout: '5 seconds', startToCloseTimeout: '10 seconds', retry: { maximumAttempts: 1 },
  });
  const probeAnswered = await probe.probeHost().then(() => true, () => false);
  return { verdict: verdict({ ...facts, probeAnswered }, facts.deadAfterSeconds), facts, probeAnswered };
}
