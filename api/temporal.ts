import { temporalConnectionOptions } from '../lib/temporal-tls';
import { Client, Connection, WorkflowExecutionAlreadyStartedError, type WorkflowStartOptions } from '@temporalio/client';
import type { TypedSearchAttributes } from '@temporalio/common';
import type { Workflow } from '@temporalio/common';
import type { Config } from '../lib/config';

export interface WorkflowStarter {
  /** Starts the workflow (by function reference, so its arguments are typed); one already started under that id counts as started. */
  start<W extends Workflow>(workflow: W, workflowId: string, args: Parameters<W>, searchAttributes: TypedSearchAttributes): Promise<void>;
  /** The same, by the workflow's recorded type name (a replay, from the operation row). */
  start(workflowType: string, workflowId: string, args: unknown[], searchAttributes: TypedSearchAttributes): Promise<void>;
  close(): Promise<void>;
}

export function createWorkflowStarter(config: Config): WorkflowStarter {
  let client: Promise<{ client: Client; connection: Connection }> | undefined;
  const get = () => {
    client ??= Connection.connect({ ...temporalConnectionOptions(config), connectTimeout: '5 seconds' })
      .then((connection) => ({ connection, client: new Client({ connection, namespace: config.temporalNamespace }) }))
      .catch((err) => { client = undefined; throw err; });
    return client;
  };
  return {
    async start<W extends Workflow>(workflow: W | string, workflowId: string, args: Parameters<W> | unknown[], typedSearchAttributes: TypedSearchAttributes) {
      const { client: c } = await get();
      try {
        await c.workflow.start(workflow, { taskQueue: config.controlQueue, workflowId, args, typedSearchAttributes } as unknown as WorkflowStartOptions<W>);
      } catch (err) {
        if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
      }
    },
    async close() {
      if (client) await (await client).connection.close().catch(() => undefined);
    },
  };
}
