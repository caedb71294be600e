// Frozen: the create of the one operation lifecycle before its control steps and host steps were
// each made one (../create-instance.ts, patch 'create-one-host-step'); kept so that creates started
// before it, and their recorded histories, replay.
import { upsertSearchAttributes } from '@temporalio/workflow';
import { control, onHost } from '../activity-options';
import { runOperation } from '../operation';
import { VcHostId } from '../search-attributes';

export interface InstanceOperationInput { instanceId: string; operationId: string; hostScheduleToStartSeconds?: number }

const HOST_STEPS = ['ensureImage', 'createInstance', 'startInstance', 'plumbNetwork'] as const;

export async function createInstanceBySteps(input: InstanceOperationInput): Promise<{ hostId: string; ip: string }> {
  const { instanceId } = input;
  return runOperation(input.operationId, {
    async run(op, saga, { reopened }) {
      const begun = await control.beginCreate(op, instanceId, reopened);
      if (begun.done) return { hostId: begun.hostId!, ip: begun.ip! };

      saga.add('release the host capacity', () => control.releaseHostCapacity(op, instanceId));
      const claim = await control.placeInstance(op, instanceId);
      upsertSearchAttributes([{ key: VcHostId, value: claim.hostId }]);

      saga.add('release the address', () => control.releaseIp(op, instanceId));
      const allocation = await control.allocateIp(op, instanceId);

      const host = onHost(claim.hostId, input.hostScheduleToStartSeconds);
      saga.add('destroy on the host', async () => host.destroyInstance(await control.instanceSpec(op, instanceId)));
      // Each host step takes a fresh spec: the guard that this run still owns the operation.
      for (const step of HOST_STEPS) await host[step](await control.instanceSpec(op, instanceId));

      await control.settleInstance(op, instanceId, 'running', { from: ['provisioning'] });
      saga.clear();
      return { hostId: claim.hostId, ip: allocation.ip };
    },
    async settle(op, f) {
      await control.settleInstance(op, instanceId, f.stuck ? 'repairing' : 'failed', {
        from: ['pending', 'provisioning'], failure: f.reason, repairTo: 'failed', onlyIfOwned: true,
      });
    },
  });
}
