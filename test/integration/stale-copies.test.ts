import crypto from 'node:crypto';
import type { Knex } from 'knex';
import { seedIds, testDb } from '../helpers/platform';
import { TEST_ZONE } from '../helpers/env';
import { sweepStaleCopies } from '../../workers/stale-copies';
import type { InstanceDriver } from '../../drivers/instance-driver';

// The agent's start-up sweep of copies recorded for destruction on its host.
describe('stale copies at agent start', () => {
  let db: Knex;
  let ids: { imageId: string; adminId: string };
  const host = 'sweep-host';
  beforeAll(async () => {
    db = testDb();
    ids = await seedIds(db);
    await db('hosts').insert({ id: host, zone_id: TEST_ZONE.id, vcpus: 2, memory_mb: 1024, disk_gb: 10, kinds: ['docker'], numa: JSON.stringify({ nodes: [] }) });
  });
  const made: string[] = [];
  afterAll(async () => {
    await db('stale_copies').where({ host_id: host }).delete();
    await db('instances').whereIn('id', made).delete();
    await db('hosts').where({ id: host }).delete();
    await db.destroy();
  });

  const instance = async (over: Record<string, unknown>) => {
    const id = crypto.randomUUID();
    made.push(id);
    await db('instances').insert({ id, name: `sweep-${id.slice(0, 8)}`, owner_id: ids.adminId, zone_id: TEST_ZONE.id, kind: 'docker', image_id: ids.imageId, vcpus: 1, memory_mb: 64, disk_gb: 1, state: 'running', ...over });
    await db('stale_copies').insert({ instance_id: id, host_id: host, kind: 'docker' });
    return id;
  };
  const driver = (destroy: (id: string) => Promise<void>) => ({ destroy } as unknown as InstanceDriver);
  const log = { info: () => undefined, error: jest.fn() };

  test('a destroy that fails does not end the agent: the copy stays recorded for the reconciler', async () => {
    const id = await instance({ host_id: null });
    await expect(sweepStaleCopies(db, host, { docker: driver(async () => { throw new Error('engine busy'); }) }, log)).resolves.toBeUndefined();
    expect(await db('stale_copies').where({ instance_id: id, host_id: host })).toHaveLength(1);
    expect(log.error).toHaveBeenCalled();
  });

  test('a copy is destroyed and forgotten; one of an instance that lives here again is never destroyed', async () => {
    await db('stale_copies').where({ host_id: host }).delete();
    const gone = await instance({ host_id: null });
    const back = await instance({ host_id: host });
    const destroyed: string[] = [];
    await sweepStaleCopies(db, host, { docker: driver(async (i) => { destroyed.push(i); }) }, log);
    expect(destroyed).toEqual([gone]);
    expect(await db('stale_copies').where({ host_id: host })).toEqual([]);
    expect(await db('instance_events').where({ instance_id: gone, kind: 'leftover-destroyed' })).toHaveLength(1);
    expect(back).toBeDefined();
  });
});
