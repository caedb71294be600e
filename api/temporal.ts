import { Client, Connection, WorkflowExecutionAlreadyStartedError } from '@temporalio/client';
import type { TypedSearchAttributes } from '@temporalio/common';
import type { Config } from '../lib/config';

export interface WorkflowStarter {
  /** Starts the workflow; a workflow already started under that id counts as started. */
  start(workflowType: string, workflowId: string, args: unknown[], searchAttributes: TypedSearchAttributes): Promise<void>;
  close(): Promise<void>;
}

export function createWorkflowStarter(config: Config): WorkflowStarter {
  let client: Promise<{ client: Client; connection: Connection }> | undefined;
  const get = () => {
    client ??= Connection.connect({ address: config.temporalAddress, connectTimeout: '5 seconds' })
      .then((connection) => ({ connection, client: new Client({ connection, namespace: config.temporalNamespace }) }))
      .catch((err) => { client = undefined; throw err; });
    return client;
  };
  return {
    async start(workflowType, workflowId, args, typedSearchAttributes) {
      const { client: c } = await get();
      try {
        await c.workflow.start(workflowType, { taskQueue: config.controlQueue, workflowId, args, typedSearchAttributes });
      } catch (err) {
        if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
      }
    },
    async close() {
      if (client) await (await client).connection.close().catch(() => undefined);
    },
  };
}
