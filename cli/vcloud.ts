#!/usr/bin/env node
import fs from 'node:fs';
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { ApiProblem, apiFor, type Api } from './api';
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
let cachedApi: Api | null = null;
function api(): Api {
  if (cachedApi) return cachedApi;
  const config = readConfig();
  if (!config) throw new CommanderError(2, 'vcloud.login', 'not logged in: run `vcloud login --url <api> --token <token>` (or set VCLOUD_URL and VCLOUD_TOKEN)');
  cachedApi = apiFor(config);
  return cachedApi;
}

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
async function started(answer: { operation: Operation } & Record<string, unknown>, wait: boolean | undefined): Promise<void> {
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
    await apiFor({ url: o.url.replace(/\/+$/, ''), token: o.token })('GET', '/v1/instances?limit=1');
    process.stderr.write(`logged in; saved to ${file}\n`);
  });

const instances = program.command('instances').alias('i').description('VMs and containers');
instances.command('list').option('--all', 'deleted ones too').action(async (o: { all?: boolean }) =>
  print(await api()('GET', `/v1/instances?limit=1000${o.all ? '&all=true' : ''}`), INSTANCE_COLUMNS));
instances.command('show <id>').action(async (id: string) => print(await api()('GET', `/v1/instances/${encodeURIComponent(id)}`)));
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
    await started(await api()('POST', '/v1/instances', body), o.wait);
  });
instances.command('delete <id>').option('--wait').action(async (id: string, o: { wait?: boolean }) =>
  started(await api()('DELETE', `/v1/instances/${encodeURIComponent(id)}`), o.wait));
for (const action of ['start', 'stop', 'pause', 'resume', 'reboot']) {
  instances.command(`${action} <id>`).option('--wait').action(async (id: string, o: { wait?: boolean }) =>
    started(await api()('POST', `/v1/instances/${encodeURIComponent(id)}/actions`, { action }), o.wait));
}
instances.command('resize <id>').description('live for a container, cold for a running VM, offline when stopped; with --allow-migrate, moved to a host that fits when its own has no room')
  .option('--vcpus <n>', '', positive).option('--memory <mb>', '', positive).option('--disk <gb>', '', positive)
  .option('--allow-migrate', 'if the host has no room, move the instance (same IP and MAC) to a host of the zone that has').option('--wait')
  .action(async (id: string, o: Record<string, any>) =>
    started(await api()('POST', `/v1/instances/${encodeURIComponent(id)}/resize`, {
      vcpus: o.vcpus, memoryMb: o.memory, diskGb: o.disk, ...(o.allowMigrate ? { allowMigrate: true } : {}),
    }), o.wait));
instances.command('snapshot <id>').option('--wait').action(async (id: string, o: { wait?: boolean }) =>
  started(await api()('POST', `/v1/instances/${encodeURIComponent(id)}/snapshots`), o.wait));
instances.command('snapshots <id>').action(async (id: string) =>
  print(await api()('GET', `/v1/instances/${encodeURIComponent(id)}/snapshots`), ['id', 'state', 'kind', 'consistency', 'createdAt']));
instances.command('migrate <id>').option('--snapshot <s>', '"latest", "none" or a snapshot id').option('--host <host>', 'admin: the target').option('--wait')
  .action(async (id: string, o: Record<string, any>) =>
    started(await api()('POST', `/v1/instances/${encodeURIComponent(id)}/migrate`, { snapshot: o.snapshot, host: o.host }), o.wait));
instances.command('metrics <id>').option('--range <seconds>', '', positive).action(async (id: string, o: { range?: number }) =>
  print(await api()('GET', `/v1/instances/${encodeURIComponent(id)}/metrics${o.range ? `?range=${o.range}` : ''}`)));

const images = program.command('images').description('templates and Docker images');
images.command('list').action(async () => print(await api()('GET', '/v1/images?limit=1000'), ['id', 'name', 'kind', 'state', 'visibility', 'ownerId']));
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
images.command('convert <id>').option('--wait').action(async (id: string, o: { wait?: boolean }) =>
  started(await api()('POST', `/v1/images/${encodeURIComponent(id)}/convert`), o.wait));
images.command('from-snapshot <snapshotId>').requiredOption('--name <name>').option('--wait').action(async (snapshotId: string, o: { name: string; wait?: boolean }) =>
  started(await api()('POST', '/v1/images', { name: o.name, fromSnapshot: snapshotId }), o.wait));
images.command('delete <id>').action(async (id: string) => { await api()('DELETE', `/v1/images/${encodeURIComponent(id)}`); });

const keys = program.command('keys').description('your SSH public keys');
keys.command('list').action(async () => print(await api()('GET', '/v1/users/me/keys'), ['id', 'name', 'type', 'fingerprint']));
keys.command('add <file>').requiredOption('--name <name>').action(async (file: string, o: { name: string }) =>
  print(await api()('POST', '/v1/users/me/keys', { name: o.name, publicKey: fs.readFileSync(file, 'utf8').trim() })));
keys.command('remove <id>').action(async (id: string) => { await api()('DELETE', `/v1/users/me/keys/${encodeURIComponent(id)}`); });

program.command('operations').description('newest first').action(async () =>
  print(await api()('GET', '/v1/operations?limit=100'), ['id', 'type', 'state', 'instanceId', 'createdAt', 'error']));
program.command('operation <id>').option('--wait').action(async (id: string, o: { wait?: boolean }) => {
  const op = await api()<Operation>('GET', `/v1/operations/${encodeURIComponent(id)}`);
  await started({ operation: op }, o.wait);
});

const hosts = program.command('hosts').description('admin: the fleet');
hosts.command('list').action(async () => print(await api()('GET', '/v1/hosts?limit=1000'), ['id', 'zone', 'state', 'vcpus', 'usedVcpus', 'memoryMb', 'usedMemoryMb', 'lastHeartbeatAt']));
hosts.command('evacuate <id>').option('--concurrency <n>', '', positive).option('--fenced', 'it is powered off').option('--wait')
  .action(async (id: string, o: Record<string, any>) =>
    started(await api()('POST', `/v1/hosts/${encodeURIComponent(id)}/evacuate`, { concurrency: o.concurrency, fenced: o.fenced || undefined }), o.wait));
hosts.command('restore <id>').option('--wait').action(async (id: string, o: { wait?: boolean }) =>
  started(await api()('POST', `/v1/hosts/${encodeURIComponent(id)}/restore`, {}), o.wait));

const users = program.command('users').description('admin: users, tokens and grants');
users.command('list').action(async () => print(await api()('GET', '/v1/users?limit=1000'), ['id', 'name', 'role']));
users.command('create <name>').addOption(new Option('--role <role>').choices(['user', 'admin']).default('user'))
  .action(async (name: string, o: { role: string }) => print(await api()('POST', '/v1/users', { name, role: o.role })));
users.command('token <userId>').description('issue a token (shown once)').action(async (userId: string) =>
  print(await api()('POST', `/v1/users/${encodeURIComponent(userId)}/tokens`)));
users.command('grant <userId> <zone>').requiredOption('--vcpus <n>', '', positive).requiredOption('--memory <mb>', '', positive)
  .requiredOption('--instances <n>', '', positive)
  .action(async (userId: string, zone: string, o: Record<string, number>) =>
    print(await api()('PUT', `/v1/users/${encodeURIComponent(userId)}/grants/${encodeURIComponent(zone)}`, { maxVcpus: o.vcpus, maxMemoryMb: o.memory, maxInstances: o.instances })));

const zones = program.command('zones').description('zones and their address pools');
zones.command('list').action(async () => print(await api()('GET', '/v1/zones?limit=1000'), ['id', 'subnet', 'gateway', 'bridge']));
zones.command('pools <zone>').description('admin').action(async (zone: string) => print(await api()('GET', `/v1/zones/${encodeURIComponent(zone)}/pools`)));
program.command('ip-health').description('admin: the IP-pool health check\'s findings').action(async () => print(await api()('GET', '/v1/ip-health/checks')));

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
