#!/usr/bin/env node
import fs from 'node:fs';
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { ApiProblem, createVcloudClient, ok, type VcloudClient } from '../client';
import { readConfig, writeConfig } from './config';
import { waitFor, type Operation } from './wait';

// `vcloud`: the platform from a terminal or a script. Exit codes: 0 done, 1 the API or the operation
// said no (its problem message is printed), 2 a usage error.

const program = new Command('vcloud').description('vcloud: VMs and containers with fixed IPs, from the command line')
  .addOption(new Option('-o, --output <format>', 'table or json').choices(['table', 'json']).default('table'))
  .option('--timeout <seconds>', 'how long --wait follows an operation', seconds, 600)
  .showHelpAfterError()
  .exitOverride();

function seconds(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > 86_400) throw new InvalidArgumentError('must be whole seconds, 1 to 86400');
  return n;
}
function positive(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('must be a positive integer');
  return n;
}

const globals = () => program.opts<{ output: 'table' | 'json'; timeout: number }>();
let cachedApi: VcloudClient | null = null;
/** The typed client (client/), with the login's token. */
function api(): VcloudClient {
  if (cachedApi) return cachedApi;
  const config = readConfig();
  if (!config) throw new CommanderError(2, 'vcloud.login', 'not logged in: run `vcloud login --url <api> --token <token>` (or set VCLOUD_URL and VCLOUD_TOKEN)');
  cachedApi = createVcloudClient(config);
  return cachedApi;
}
const id = (v: string) => ({ params: { path: { id: v } } });

/** JSON as the API answered, or a table of the fields that matter. */
function print(value: unknown, columns?: string[]): void {
  if (globals().output === 'json') {
    process.stdout.write(JSON.stringify(value, null, 2) + '\n');
    return;
  }
  const rows = Array.isArray(value) ? value : (value as { items?: unknown[] })?.items ?? [value];
  const cols = columns ?? Object.keys((rows[0] as object) ?? {});
  const cell = (v: unknown) => (v === null || v === undefined ? '-' : typeof v === 'object' ? JSON.stringify(v) : String(v));
  const table = [cols, ...rows.map((r) => cols.map((c) => cell((r as Record<string, unknown>)[c])))];
  const widths = cols.map((_, i) => Math.max(...table.map((r) => r[i].length)));
  for (const r of table) process.stdout.write(r.map((c, i) => c.padEnd(widths[i])).join('  ').trimEnd() + '\n');
}

/** Prints the answer of a request that started an operation; with --wait, follows it and fails when it does. */
async function started(answer: { operation: Operation }, wait: boolean | undefined): Promise<void> {
  if (!wait) return print(answer);
  const op = await waitFor(api(), answer.operation, {
    timeoutMs: globals().timeout * 1000, tty: process.stderr.isTTY === true && globals().output !== 'json', log: (l) => process.stderr.write(`${l}\n`),
  });
  print(globals().output === 'json' ? { ...answer, operation: op } : op, ['id', 'type', 'state', 'error', 'workflowId']);
  if (op.state !== 'succeeded') process.exitCode = 1;
}

const INSTANCE_COLUMNS = ['id', 'name', 'kind', 'state', 'ip', 'hostId', 'vcpus', 'memoryMb', 'diskGb', 'image'];

program.command('login').description('save the API address and your token (mode 0600)')
  .requiredOption('--url <url>', 'the API, like http://127.0.0.1:8080').requiredOption('--token <token>', 'your API token')
  .action(async (o: { url: string; token: string }) => {
    const file = writeConfig({ url: o.url.replace(/\/+$/, ''), token: o.token });
    ok(await createVcloudClient({ url: o.url, token: o.token }).GET('/v1/instances', { params: { query: { limit: 1 } } }));
    process.stderr.write(`logged in; saved to ${file}\n`);
  });

const instances = program.command('instances').alias('i').description('VMs and containers');
instances.command('list').option('--all', 'deleted ones too').action(async (o: { all?: boolean }) =>
  print(ok(await api().GET('/v1/instances', { params: { query: { limit: 1000, ...(o.all ? { all: 'true' as const } : {}) } } })), INSTANCE_COLUMNS));
instances.command('show <id>').action(async (i: string) => print(ok(await api().GET('/v1/instances/{id}', id(i)))));
instances.command('create').description('one instance, or a batch with --count')
  .requiredOption('--name <name>').requiredOption('--zone <zone>').requiredOption('--image <image>')
  .addOption(new Option('--kind <kind>').choices(['docker', 'kvm']).default('docker'))
  .option('--vcpus <n>', 'vCPUs', positive, 1).option('--memory <mb>', 'memory in MB', positive, 64).option('--disk <gb>', 'disk in GB', positive)
  .option('--app <app>', 'spread with others of this app').option('--keys <names>', 'your SSH keys, comma separated')
  .option('--count <n>', 'a batch: name-1 ... name-n', positive).option('--host <host>', 'admin: the host').option('--ip <ip>', 'admin: the address')
  .option('--wait', 'follow the operation to its end')
  .action(async (o: Record<string, any>) => {
    const body = {
      name: o.name, zone: o.zone, kind: o.kind, image: o.image, vcpus: o.vcpus, memoryMb: o.memory, diskGb: o.disk, app: o.app,
      keys: o.keys ? String(o.keys).split(',').filter(Boolean) : undefined, count: o.count, host: o.host, ip: o.ip,
    };
    await started(ok(await api().POST('/v1/instances', { body })), o.wait);
  });
instances.command('delete <id>').option('--wait').action(async (i: string, o: { wait?: boolean }) =>
  started(ok(await api().DELETE('/v1/instances/{id}', id(i))), o.wait));
for (const action of ['start', 'stop', 'pause', 'resume', 'reboot'] as const) {
  instances.command(`${action} <id>`).option('--wait').action(async (i: string, o: { wait?: boolean }) =>
    started(ok(await api().POST('/v1/instances/{id}/actions', { ...id(i), body: { action } })), o.wait));
}
instances.command('resize <id>').description('live for a container, cold for a running VM, offline when stopped; with --allow-migrate, moved to a host that fits when its own has no room')
  .option('--vcpus <n>', '', positive).option('--memory <mb>', '', positive).option('--disk <gb>', '', positive)
  .option('--allow-migrate', 'if the host has no room, move the instance (same IP and MAC) to a host of the zone that has').option('--wait')
  .action(async (i: string, o: Record<string, any>) =>
    started(ok(await api().POST('/v1/instances/{id}/resize', {
      ...id(i), body: { vcpus: o.vcpus, memoryMb: o.memory, diskGb: o.disk, ...(o.allowMigrate ? { allowMigrate: true } : {}) },
    })), o.wait));
instances.command('snapshot <id>').option('--wait').action(async (i: string, o: { wait?: boolean }) =>
  started(ok(await api().POST('/v1/instances/{id}/snapshots', { ...id(i), body: {} })), o.wait));
instances.command('snapshots <id>').action(async (i: string) =>
  print(ok(await api().GET('/v1/instances/{id}/snapshots', id(i))), ['id', 'state', 'kind', 'consistency', 'createdAt']));
instances.command('migrate <id>').option('--snapshot <s>', '"latest", "none" or a snapshot id').option('--host <host>', 'admin: the target').option('--wait')
  .action(async (i: string, o: Record<string, any>) =>
    started(ok(await api().POST('/v1/instances/{id}/migrate', { ...id(i), body: { snapshot: o.snapshot, host: o.host } })), o.wait));
instances.command('metrics <id>').option('--range <duration>', 'like 15m, 1h or 1d').option('--step <duration>', 'like 15s or 1m')
  .action(async (i: string, o: { range?: string; step?: string }) =>
    print(ok(await api().GET('/v1/instances/{id}/metrics', { params: { path: { id: i }, query: { range: o.range, step: o.step } } }))));

const images = program.command('images').description('templates and Docker images');
images.command('list').action(async () => print(ok(await api().GET('/v1/images', { params: { query: { limit: 1000 } } })), ['id', 'name', 'kind', 'state', 'visibility', 'ownerId']));
images.command('upload <file>').description('admin: a tgz template').requiredOption('--name <name>').action(async (file: string, o: { name: string }) => {
  const config = readConfig();
  if (!config) return void api();
  const res = await fetch(`${config.url}/v1/images?name=${encodeURIComponent(o.name)}&kind=tgz`, {
    method: 'POST', headers: { authorization: `Bearer ${config.token}`, 'content-type': 'application/gzip' },
    body: fs.readFileSync(file), signal: AbortSignal.timeout(600_000),
  });
  const answer = await res.json();
  if (!res.ok) throw new ApiProblem(res.status, answer);
  print(answer);
});
images.command('convert <id>').addOption(new Option('--to <kind>', 'the kind to make').choices(['docker', 'tgz']).makeOptionMandatory())
  .option('--name <name>', 'the new image\'s name').option('--wait')
  .action(async (i: string, o: { to: 'docker' | 'tgz'; name?: string; wait?: boolean }) =>
    started(ok(await api().POST('/v1/images/{id}/convert', { ...id(i), body: { to: o.to, name: o.name } })), o.wait));
images.command('from-snapshot <snapshotId>').requiredOption('--name <name>').option('--wait').action(async (snapshotId: string, o: { name: string; wait?: boolean }) => {
  const answer = ok(await api().POST('/v1/images', { body: { name: o.name, fromSnapshot: snapshotId } }));
  await ('operation' in answer ? started(answer, o.wait) : print(answer));
});
images.command('delete <id>').action(async (i: string) => { ok(await api().DELETE('/v1/images/{id}', id(i))); });

const keys = program.command('keys').description('your SSH public keys');
const me = { params: { path: { id: 'me' } } };
keys.command('list').action(async () => print(ok(await api().GET('/v1/users/{id}/keys', me)), ['id', 'name', 'type', 'fingerprint']));
keys.command('add <file>').requiredOption('--name <name>').action(async (file: string, o: { name: string }) =>
  print(ok(await api().POST('/v1/users/{id}/keys', { ...me, body: { name: o.name, publicKey: fs.readFileSync(file, 'utf8').trim() } }))));
keys.command('remove <id>').action(async (k: string) => { ok(await api().DELETE('/v1/users/{id}/keys/{keyId}', { params: { path: { id: 'me', keyId: k } } })); });

program.command('operations').description('newest first').option('--instance <id>').option('--state <state>')
  .action(async (o: { instance?: string; state?: 'running' | 'succeeded' | 'failed' | 'cancelled' }) =>
    print(ok(await api().GET('/v1/operations', { params: { query: { limit: 100, instance: o.instance, state: o.state } } })), ['id', 'type', 'state', 'instanceId', 'createdAt', 'error']));
program.command('operation <id>').option('--wait').action(async (i: string, o: { wait?: boolean }) => {
  const op = ok(await api().GET('/v1/operations/{id}', id(i)));
  await started({ operation: op }, o.wait);
});

const hosts = program.command('hosts').description('admin: the fleet');
hosts.command('list').action(async () => print(ok(await api().GET('/v1/hosts', { params: { query: { limit: 1000 } } })), ['id', 'zone', 'state', 'vcpus', 'usedVcpus', 'memoryMb', 'usedMemoryMb', 'lastHeartbeatAt']));
hosts.command('evacuate <id>').option('--concurrency <n>', '', positive).option('--fenced', 'it is powered off').option('--wait')
  .action(async (i: string, o: Record<string, any>) =>
    started(ok(await api().POST('/v1/hosts/{id}/evacuate', { ...id(i), body: { concurrency: o.concurrency, ...(o.fenced ? { fenced: true as const } : {}) } })), o.wait));
hosts.command('restore <id>').option('--wait').action(async (i: string, o: { wait?: boolean }) =>
  started(ok(await api().POST('/v1/hosts/{id}/restore', { ...id(i), body: {} })), o.wait));

const users = program.command('users').description('admin: users, tokens and grants');
users.command('list').action(async () => print(ok(await api().GET('/v1/users', { params: { query: { limit: 1000 } } })), ['id', 'name', 'role']));
users.command('create <name>').addOption(new Option('--role <role>').choices(['user', 'admin']).default('user'))
  .action(async (name: string, o: { role: 'user' | 'admin' }) => print(ok(await api().POST('/v1/users', { body: { name, role: o.role } }))));
users.command('token <userId>').description('issue a token (shown once)').action(async (userId: string) =>
  print(ok(await api().POST('/v1/users/{id}/tokens', id(userId)))));
users.command('tokens <userId>').description('the user\'s tokens, without their values').action(async (userId: string) =>
  print(ok(await api().GET('/v1/users/{id}/tokens', id(userId))), ['id', 'createdAt', 'revokedAt']));
users.command('revoke <userId> <tokenId>').action(async (userId: string, tokenId: string) => {
  ok(await api().DELETE('/v1/users/{id}/tokens/{tokenId}', { params: { path: { id: userId, tokenId } } }));
});
users.command('grants <userId>').description('the user\'s grants with their usage').action(async (userId: string) =>
  print(ok(await api().GET('/v1/users/{id}/grants', id(userId))), ['zone', 'maxVcpus', 'maxMemoryMb', 'maxInstances', 'usage']));
users.command('grant <userId> <zone>').requiredOption('--vcpus <n>', '', positive).requiredOption('--memory <mb>', '', positive)
  .requiredOption('--instances <n>', '', positive)
  .action(async (userId: string, zone: string, o: Record<string, number>) =>
    print(ok(await api().PUT('/v1/users/{id}/grants/{zone}', { params: { path: { id: userId, zone } }, body: { maxVcpus: o.vcpus, maxMemoryMb: o.memory, maxInstances: o.instances } }))));

const zones = program.command('zones').description('zones and their address pools');
zones.command('list').action(async () => print(ok(await api().GET('/v1/zones', { params: { query: { limit: 1000 } } })), ['id', 'subnet', 'gateway', 'bridge', 'autoFailover']));
zones.command('create <id>').description('admin').requiredOption('--subnet <cidr>').requiredOption('--gateway <ip>').requiredOption('--bridge <name>')
  .action(async (z: string, o: { subnet: string; gateway: string; bridge: string }) => print(ok(await api().POST('/v1/zones', { body: { id: z, ...o } }))));
zones.command('pools <zone>').description('admin').action(async (zone: string) => print(ok(await api().GET('/v1/zones/{id}/pools', id(zone)))));
zones.command('add-pool <zone>').description('admin').requiredOption('--first <ip>').requiredOption('--last <ip>')
  .action(async (zone: string, o: { first: string; last: string }) => print(ok(await api().POST('/v1/zones/{id}/pools', { ...id(zone), body: { firstIp: o.first, lastIp: o.last } }))));
zones.command('addresses <poolId>').description('admin: a pool\'s addresses')
  .addOption(new Option('--state <state>').choices(['free', 'allocated', 'reserved', 'quarantined']))
  .action(async (pool: string, o: { state?: 'free' | 'allocated' | 'reserved' | 'quarantined' }) =>
    print(ok(await api().GET('/v1/pools/{id}/addresses', { params: { path: { id: pool }, query: { limit: 1000, state: o.state } } })), ['address', 'state', 'instanceId', 'silentChecks']));
const ipHealth = program.command('ip-health').description('admin: the IP-pool health check');
ipHealth.command('runs').option('--zone <zone>').description('the findings of the runs, newest first').action(async (o: { zone?: string }) =>
  print(ok(await api().GET('/v1/ip-health/runs', { params: { query: { zone: o.zone } } }))));
ipHealth.command('run').description('run it now').option('--wait').action(async (o: { wait?: boolean }) =>
  started(ok(await api().POST('/v1/ip-health/checks')), o.wait));
program.command('whoami').description('who your token is, and your grants with their usage').action(async () => {
  const me = ok(await api().GET('/v1/me'));
  if (globals().output === 'json') return print(me);
  process.stdout.write(`${me.user.name} (${me.user.role}) at ${readConfig()?.url}\n`);
  if (me.grants.length) print(me.grants.map((g) => ({ zone: g.zone, vcpus: `${g.usage.vcpus}/${g.maxVcpus ?? '-'}`, memoryMb: `${g.usage.memoryMb}/${g.maxMemoryMb ?? '-'}`, instances: `${g.usage.instances}/${g.maxInstances ?? '-'}` })));
});

async function main(): Promise<void> {
  try {
    await program.parseAsync(process.argv);
  } catch (err) {
    if (err instanceof CommanderError) {
      // Help and the version are successes; everything else commander refuses is a usage error.
      if (err.code === 'commander.helpDisplayed' || err.code === 'commander.help' || err.code === 'commander.version') return;
      if (err.code === 'vcloud.login') process.stderr.write(`vcloud: ${err.message}\n`);
      process.exitCode = 2;
      return;
    }
    process.stderr.write(`vcloud: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 1;
  }
}

void main();
