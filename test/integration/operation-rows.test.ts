import crypto from 'node:crypto';
import type { Knex } from 'knex';
import { testDb } from '../helpers/platform';
import { claimOperation, finishOperation, getOperation, insertOperation } from '../../db/operations';

// An operation row's ownership by runs (workflows/operation.ts): what a run finds when it takes its row.
describe('operation rows: taking one', () => {
  let db: Knex;
  const made: string[] = [];
  beforeAll(() => { db = testDb(); });
  afterAll(async () => {
    await db('operations').whereIn('id', made).delete();
    await db.destroy();
  });

  const operation = async () => {
    const id = crypto.randomUUID();
    made.push(id);
    await insertOperation(db, { id, type: 'check', workflowId: `rows-${id}`, workflowType: 'checkInvariants', requestedBy: null });
    return id;
  };
  const take = (id: string, runId: string) => db.transaction((trx) => claimOperation(trx, { operationId: id, runId }));

  test('a run that closed it as succeeded finds it done (its workflow task was lost after the commit); another run reopens it', async () => {
    const id = await operation();
    expect(await take(id, 'run-1')).toMatchObject({ reopened: false });
    await finishOperation(db, { operationId: id, runId: 'run-1' }, { state: 'succeeded', result: { hostId: 'h', ip: '10.0.0.9' } });

    const again = await take(id, 'run-1');
    expect(again).toMatchObject({ reopened: false, finished: true, row: { state: 'succeeded', result: { hostId: 'h', ip: '10.0.0.9' } } });
    expect(await getOperation(db, id)).toMatchObject({ state: 'succeeded', run_id: 'run-1' });

    // A reset (a new run) is the Temporal UI's retry: it takes the row again.
    const reset = await take(id, 'run-2');
    expect(reset).toMatchObject({ reopened: true });
    expect(reset.finished).toBeUndefined();
    expect(await getOperation(db, id)).toMatchObject({ state: 'running', run_id: 'run-2', finished_at: null });
  });

  test('a run whose operation failed or was cancelled takes it again (a run starting over after its undos found the row taken)', async () => {
    for (const state of ['failed', 'cancelled'] as const) {
      const id = await operation();
      await take(id, 'run-1');
      await finishOperation(db, { operationId: id, runId: 'run-1' }, { state, error: 'x' });
      expect([state, await take(id, 'run-1')]).toEqual([state, expect.objectContaining({ reopened: true })]);
      expect(await getOperation(db, id)).toMatchObject({ state: 'running', run_id: 'run-1', error: null });
    }
  });
});
