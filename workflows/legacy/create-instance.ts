// Frozen: the previous release's workflow, kept so its recorded histories replay (see ../index.ts).
import { upsertSearchAttributes } from '@temporalio/workflow';
import { control, hostActivities } from './activity-options';
import { Saga, reasonOf } from './saga';
import { VcHostId } from '../search-attributes';

export interface InstanceOperationInput { instanceId: string; operationId: string; hostScheduleToStartSeconds?: number }

/** reserve -> place -> allocate IP -> (host) image, create, start, plumb -> running; undone in reverse on failure. */
export async function createInstance(input: InstanceOperationInput): Promise<{ hostId: string; ip: string }> {
  const { instanceId, operationId } = input;
  const saga = new Saga();
  try {
    await control.markInstance(instanceId, 'provisioning');

    saga.add('release host capacity', () => control.releaseHostCapacity(instanceId));
    const claim = await control.placeInstance(instanceId, operationId);
    upsertSearchAttributes([{ key: VcHostId, value: claim.hostId }]);

    saga.add('release IP', () => control.releaseIp(instanceId));
    const allocation = await control.allocateIp(instanceId);

    const spec = await control.getInstanceSpec(instanceId);
    const host = hostActivities(claim.hostId, input.hostScheduleToStartSeconds);
    saga.add('destroy on host', () => host.destroyInstance(spec));
    await host.ensureImage(spec);
    await host.createInstance(spec);
    await host.startInstance(spec);
    await host.plumbNetwork(spec);

    await control.markInstance(instanceId, 'running');
    await control.finishOperation(operationId, 'succeeded', undefined, { hostId: claim.hostId, ip: allocation.ip });
    return { hostId: claim.hostId, ip: allocation.ip };
  } catch (err) {
    const reason = reasonOf(err);
    const stuck = await saga.compensate();
    const detail = stuck.length ? `${reason} (compensation failed: ${stuck.join(', ')})` : reason;
    await control.markInstance(instanceId, 'failed', detail);
    await control.finishOperation(operationId, 'failed', detail);
    throw err;
  }
}
