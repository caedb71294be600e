import fs from 'node:fs';
import path from 'node:path';
import { Worker } from '@temporalio/worker';
import { historyFromJSON } from '@temporalio/common/lib/proto-utils';
import { apiClient, createBody, waitForOperation, type ApiClient } from '../helpers/platform';
import { fixtures, quietRuntime, replayAndRecord, workflowsPath } from '../helpers/replay';

// A change to a workflow that would break running executions fails here, not in production.
describe('recorded histories replay against the current workflow code', () => {
  let api: ApiClient;
  beforeAll(() => { api = apiClient(); quietRuntime(); });

  test('committed histories (creates, deletes, migrations, snapshots, evacuations, conversions, health checks)', async () => {
    const files = fs.readdirSync(fixtures).filter((f) => f.endsWith('.json'));
    expect(files.sort()).toEqual(expect.arrayContaining(['create-instance.json', 'create-instance-failed.json', 'delete-instance.json']));
    for (const file of files) {
      const history = historyFromJSON(JSON.parse(fs.readFileSync(path.join(fixtures, file), 'utf8')));
      await Worker.runReplayHistory({ workflowsPath, replayName: file }, history);
    }
  });

  test('histories made now, by the running platform', async () => {
    const ok = await api.post('/v1/instances', createBody('replay-1'));
    const bad = await api.post('/v1/instances', createBody('replay-2', { image: 'ghost' }));
    expect((await waitForOperation(api, ok.body.operation.id)).state).toBe('succeeded');
    expect((await waitForOperation(api, bad.body.operation.id)).state).toBe('failed');
    const del = await api.del(`/v1/instances/${ok.body.instance.id}`);
    expect((await waitForOperation(api, del.body.operation.id)).state).toBe('succeeded');
    await replayAndRecord({
      'create-instance': ok.body.operation.workflowId,
      'create-instance-failed': bad.body.operation.workflowId,
      'delete-instance': del.body.operation.workflowId,
    });
  });
});
