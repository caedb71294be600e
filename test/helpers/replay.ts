import fs from 'node:fs';
import path from 'node:path';
import { DefaultLogger, Runtime, Worker } from '@temporalio/worker';
import { projectRoot } from '../../lib/config';
import { run } from '../../host/run';
import { TEMPORAL_ADDRESS } from './env';
import { temporalClient } from './platform';

export const workflowsPath = require.resolve('../../workflows');
export const fixtures = path.join(projectRoot, 'test', 'fixtures', 'histories');

let quiet = false;
/** Replay bundles the workflows each time; its INFO lines would drown the test output. */
export function quietRuntime(): void {
  if (quiet) return;
  Runtime.install({ logger: new DefaultLogger('WARN') });
  quiet = true;
}

/**
 * Replays each named workflow's history against the current code, and with
 * VCLOUD_RECORD_HISTORIES=1 writes it to test/fixtures/histories/<name>.json (through the CLI,
 * which writes the proto JSON historyFromJSON reads) for later runs to replay.
 */
export async function replayAndRecord(byName: Record<string, string>): Promise<void> {
  quietRuntime();
  const temporal = await temporalClient();
  try {
    for (const [name, workflowId] of Object.entries(byName)) {
      const history = await temporal.client.workflow.getHandle(workflowId).fetchHistory();
      await Worker.runReplayHistory({ workflowsPath, replayName: workflowId }, history);
      if (process.env.VCLOUD_RECORD_HISTORIES === '1') {
        const json = await run(path.join(projectRoot, '.tools', 'bin', 'temporal'),
          ['workflow', 'show', '--workflow-id', workflowId, '--output', 'json', '--address', TEMPORAL_ADDRESS]);
        fs.writeFileSync(path.join(fixtures, `${name}.json`), json);
      }
    }
  } finally {
    await temporal.close();
  }
}
