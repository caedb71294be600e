import { temporalConnectionOptions } from '../lib/temporal-tls';
import { Client, Connection } from '@temporalio/client';
import { loadConfig } from '../lib/config';
import { createDb } from '../db/connection';
import { evaluateInvariants, type InvariantReport } from '../db/invariants';
import { checkInvariants } from '../workflows';

/**
 * `npm run check [-- --settled] [-- --json]`: the platform's invariants, checked against the
 * database and every live host's engines (read by the hosts' agents, through the checkInvariants
 * workflow). Exit 0 when all hold, 1 with a readable list when something is off, 2 when the check
 * itself could not run. Without Temporal it checks the database alone, and says so.
 * --settled: every operation must have ended (use it when nothing should be running).
 */
async function main(): Promise<number> {
  const args = new Set(process.argv.slice(2));
  const settled = args.has('--settled');
  const config = loadConfig();
  let report: InvariantReport;
  let engines = true;
  try {
    const connection = await Connection.connect({ ...temporalConnectionOptions(config), connectTimeout: '5 seconds' });
    try {
      const client = new Client({ connection, namespace: config.temporalNamespace });
      report = await client.workflow.execute(checkInvariants, {
        taskQueue: config.controlQueue, workflowId: `check-invariants-${Date.now()}`, args: [{ settled }], workflowExecutionTimeout: '5 minutes',
      });
    } finally {
      await connection.close();
    }
  } catch (err) {
    engines = false;
    console.error(`could not ask the hosts (${String(err)}): checking the database alone`);
    const db = createDb(config.databaseUrl, { min: 0, max: 2 });
    try {
      report = await evaluateInvariants(db, [], settled);
    } finally {
      await db.destroy();
    }
  }
  if (args.has('--json')) {
    console.log(JSON.stringify({ ...report, engines }, null, 2));
  } else {
    console.log(`hosts checked: ${report.checkedHosts.join(', ') || 'none'}`);
    for (const h of report.uncheckedHosts) console.log(`host not checked: ${h.hostId} (${h.why})`);
    console.log(`operations running: ${report.runningOperations}`);
    for (const v of report.violations) console.log(`VIOLATION [${v.rule}] ${v.detail}`);
    console.log(report.ok ? 'all invariants hold' : `${report.violations.length} violation(s)`);
  }
  return report.ok ? 0 : 1;
}

main().then((code) => process.exit(code), (err) => {
  console.error(err);
  process.exit(2);
});
