import fs from 'node:fs';
import path from 'node:path';
import { DefaultLogger, Runtime, Worker } from '@temporalio/worker';
import { historyFromJSON } from '@temporalio/common/lib/proto-utils';
import { run } from '../../host/run';
import { TEMPORAL_ADDRESS } from '../helpers/env';
import { apiClient, createBody, temporalClient, waitForOperation, type ApiClient } from '../helpers/platform';
import { projectRoot } from '../../lib/config';

// Replay bundles the workflows each time; its INFO lines would drown the test output.
Runtime.install({ logger: new DefaultLogger('WARN') });

const workflowsPath = require.resolve('../../workflows');
const fixtures = path.join(projectRoot, 'test', 'fixtures', 'histories');

// A change to a workflow that would break running executions fails here, not in production.
describe('recorded histories replay against the current workflow code', () => {
  let api: ApiClient;
  beforeAll(() => { api = apiClient(); });

  test('committed histories (a create, a failed create with its compensation, a delete)', async () => {
    const files = fs.readdirSync(fixtures).filter((f) => f.endsWith('.json'));
    expect(files.sort()).toEqual(expect.arrayContaining(['create-instance.json', 'create-instance-failed.json', 'delete-instance.json']));
    for (const file of files) {
      const history = historyFromJSON(JSON.parse(fs.readFileSync(path.join(fixtures, file), 'utf8')));
      await Worker.runReplayHistory({ workflowsPath, replayName: file }, history);
    }
  });

  test('histories made now, by the running platform', async () => {
    const temporal = await temporalClient();
    try {
      const ok = await api.post('/v1/instances', createBody('replay-1'));
      const bad = await api.post('/v1/instances', createBody('replay-2', { image: 'ghost' }));
      expect((await waitForOperation(api, ok.body.operation.id)).state).toBe('succeeded');
      expect((await waitForOperation(api, bad.body.operation.id)).state).toBe('failed');
      const del = await api.del(`/v1/instances/${ok.body.instance.id}`);
      expect((await waitForOperation(api, del.body.operation.id)).state).toBe('succeeded');
      for (const op of [ok.body.operation, bad.body.operation, del.body.operation]) {
        const history = await temporal.client.workflow.getHandle(op.workflowId).fetchHistory();
        expect(history.events!.length).toBeGreaterThan(10);
        await Worker.runReplayHistory({ workflowsPath, replayName: op.workflowId }, history);
        if (process.env.VCLOUD_RECORD_HISTORIES === '1') {
          const name = op === ok.body.operation ? 'create-instance' : op === bad.body.operation ? 'create-instance-failed' : 'delete-instance';
          // The CLI writes the proto JSON that historyFromJSON reads (as Temporal's docs record histories).
          const json = await run(path.join(projectRoot, '.tools', 'bin', 'temporal'),
            ['workflow', 'show', '--workflow-id', op.workflowId, '--output', 'json', '--address', TEMPORAL_ADDRESS]);
          fs.writeFileSync(path.join(fixtures, `${name}.json`), json);
        }
      }
    } finally {
      await temporal.close();
    }
  });
});
