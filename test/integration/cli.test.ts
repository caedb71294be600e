import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execFile } from 'node:child_process';
import { adminToken, apiClient, testDb } from '../helpers/platform';
import { TEST_API, TEST_ZONE } from '../helpers/env';
import { projectRoot } from '../../lib/config';

const BIN = path.join(projectRoot, 'dist', 'cli', 'vcloud.js');

/** The CLI as a user runs it (no terminal: plain lines), with its own config directory. */
function vcloud(home: string, args: string[], env: Record<string, string> = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [BIN, ...args], { env: { PATH: process.env.PATH, XDG_CONFIG_HOME: home, ...env }, timeout: 300_000 }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : 1) : 0;
      resolve({ code, stdout: String(stdout), stderr: String(stderr) });
    });
  });
}

describe('the vcloud CLI, end to end against the platform', () => {
  let home: string;
  beforeAll(() => { home = fs.mkdtempSync(path.join(os.tmpdir(), 'vc-cli-')); });
  afterAll(() => fs.rmSync(home, { recursive: true, force: true }));

  test('login keeps the token 0600; create --wait and delete --wait; JSON for scripts; problems readable with exit 1; usage errors exit 2', async () => {
    expect((await vcloud(home, ['instances', 'list'])).code).toBe(2);
    const login = await vcloud(home, ['login', '--url', TEST_API, '--token', adminToken()]);
    expect(login.code).toBe(0);
    const file = path.join(home, 'vcloud', 'config.json');
    expect(fs.statSync(file).mode & 0o777).toBe(0o600);
    expect(fs.statSync(path.dirname(file)).mode & 0o777).toBe(0o700);

    const created = await vcloud(home, ['-o', 'json', 'instances', 'create', '--name', 'cli-made', '--zone', TEST_ZONE.id, '--image', 'busybox', '--memory', '64', '--wait']);
    expect(created.code).toBe(0);
    const answer = JSON.parse(created.stdout);
    expect(answer.operation).toMatchObject({ state: 'succeeded', type: 'create' });
    expect(created.stderr).toContain(`workflow ${answer.operation.workflowId}: `);
    expect(created.stderr).toContain('/namespaces/');
    const id = answer.instance.id;
    const shown = JSON.parse((await vcloud(home, ['-o', 'json', 'instances', 'show', id])).stdout);
    expect(shown).toMatchObject({ id, state: 'running', ip: expect.stringMatching(/^10\.214\.0\./) });
    const table = await vcloud(home, ['instances', 'list']);
    expect(table.stdout.split('\n')[0]).toMatch(/^id\s+name\s+kind\s+state\s+ip/);
    expect(table.stdout).toContain(id);

    const resized = await vcloud(home, ['-o', 'json', 'instances', 'resize', id, '--memory', '96', '--wait']);
    expect(resized.code).toBe(0);
    expect(JSON.parse(resized.stdout).resize.plan).toBe('live');

    // A 4xx from the API: its message, exit 1, nothing made.
    const db = testDb();
    try {
      const before = await db('instances').count('* as n').first();
      const refused = await vcloud(home, ['instances', 'create', '--name', 'Bad Name', '--zone', TEST_ZONE.id, '--image', 'busybox']);
      expect(refused.code).toBe(1);
      expect(refused.stderr).toMatch(/400 Bad Request/);
      expect(refused.stderr).toMatch(/name: must be a DNS label/);
      expect(await db('instances').count('* as n').first()).toEqual(before);
    } finally {
      await db.destroy();
    }
    expect((await vcloud(home, ['instances', 'create', '--name', 'x', '--zone', TEST_ZONE.id, '--image', 'busybox', '--vcpus', 'two'])).code).toBe(2);
    expect((await vcloud(home, ['--timeout', 'soon', 'instances', 'list'])).code).toBe(2);
    expect((await vcloud(home, ['no-such-command'])).code).toBe(2);

    const deleted = await vcloud(home, ['instances', 'delete', id, '--wait']);
    expect(deleted.code).toBe(0);
    expect(deleted.stderr).toMatch(/delete succeeded/);
    expect((await apiClient().get(`/v1/instances/${id}`)).body.state).toBe('deleted');
  }, 600_000);
});
