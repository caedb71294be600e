import crypto from 'node:crypto';
import type { Knex } from 'knex';
import type { Client } from '@temporalio/client';
import { seedIds, testDb } from '../helpers/platform';
import { TEST_ZONE } from '../helpers/env';
import { createReconcileActivities } from '../../activities/control/reconcile-activities';
import type { EngineObject } from '../../drivers/instance-driver';

// The reconciler's plan for one host, on the real database: what it calls drift. An inventory read
// while an operation worked on the instance (a VM frozen by its snapshot) must not be judged once
// the operation has ended: that repair would take the instance from its owner for nothing.
describe('reconcile plan: drift is judged only on an inventory read after the last operation', () => {
  let db: Knex;
  let ids: { imageId: string; adminId: string };
  const host = 'plan-host';
  const made: string[] = [];
  let plan: ReturnType<typeof createReconcileActivities>['planHost'];
  beforeAll(async () => {
    db = testDb();
    ids = await seedIds(db);
    await db('hosts').insert({ id: host, zone_id: TEST_ZONE.id, vcpus: 2, memory_mb: 1024, disk_gb: 10, kinds: ['kvm'], numa: JSON.stringify({ nodes: [] }) });
    plan = createReconcileActivities({
      db, temporal: async () => ({}) as Client, controlQueue: 'unused', hostLiveSeconds: 30, operationGraceSeconds: 10, orphanGraceSeconds: 30,
    }).planHost;
  });
  afterAll(async () => {
    await db('instance_events').whereIn('instance_id', made).delete();
    await db('operations').whereIn('instance_id', made).delete();
    await db('instances').whereIn('id', made).delete();
    await db('hosts').where({ id: host }).delete();
    await db.destroy();
  });

  async function snapshottedVm(snapshotEndedAt: Date): Promise<string> {
    const id = crypto.randomUUID();
    made.push(id);
    const old = new Date(Date.now() - 600_000);
    await db('instances').insert({
      id, name: `plan-${id.slice(0, 8)}`, owner_id: ids.adminId, zone_id: TEST_ZONE.id, kind: 'kvm', image_id: ids.imageId,
      vcpus: 1, memory_mb: 64, disk_gb: 1, state: 'running', host_id: host, updated_at: old, created_at: old,
    });
    await db('operations').insert({
      id: crypto.randomUUID(), type: 'snapshot', workflow_id: `snapshot-${id}`, workflow_type: 'snapshotInstance', requested_by: ids.adminId,
      instance_id: id, state: 'succeeded', created_at: new Date(snapshotEndedAt.getTime() - 5000), finished_at: snapshotEndedAt,
    });
    return id;
  }
  const frozen = (instanceId: string): EngineObject => ({ instanceId, kind: 'kvm', state: 'running', attached: true, frozen: true });

  test('a VM read frozen before its snapshot ended is left alone; read frozen after, it is repaired', async () => {
    const askedAt = Date.now() - 10_000;
    const during = await snapshottedVm(new Date(askedAt + 3000));
    const after = await snapshottedVm(new Date(askedAt - 60_000));
    const result = await plan(host, { hostId: host, objects: [frozen(during), frozen(after)], kinds: ['kvm'] }, askedAt);
    expect(result.repairs).toEqual([after]);
    expect(await db('instances').where({ id: during }).first('state')).toEqual({ state: 'running' });
    expect(await db('instances').where({ id: after }).first('state')).toEqual({ state: 'repairing' });
  });
});
