import fs from 'node:fs';
import path from 'node:path';
import crypto from 'node:crypto';
import type { Browser, Page } from 'playwright-core';
import { launchChromium, loadSteadily } from '../helpers/browser';
import type { Knex } from 'knex';
import { adminToken, apiClient, deleteInstances, testDb } from '../helpers/platform';
import { HOST_A, TEST_API, TEST_ZONE } from '../helpers/env';
import { createUser, issueToken } from '../../db/users';
import { putGrant } from '../../db/grants';
import { projectRoot } from '../../lib/config';
import { run } from '../../host/run';

const SHOTS = path.join(projectRoot, 'docs', 'screenshots');
const BRIDGE = 'vcconsole0';
const ZONE = { id: 'console', subnet: '10.236.0.0/24', gateway: '10.236.0.1', bridge: BRIDGE };

/**
 * The web console in a real browser (Debian's chromium, driven by playwright-core): a user logs in with a
 * token, creates a container, sees it reach running with its IP and deletes it; an admin sees a quarantined
 * address and a host's capacity. The screenshots it takes are the README's.
 */
describe('the web console in chromium', () => {
  let browser: Browser;
  let db: Knex;
  const made: string[] = [];
  const pageErrors: string[] = [];

  beforeAll(async () => {
    db = testDb();
    browser = await launchChromium();
    fs.mkdirSync(SHOTS, { recursive: true });
  });
  afterAll(async () => {
    await browser?.close();
    await deleteInstances(apiClient(), made);
    await db('ip_addresses').where({ zone_id: ZONE.id }).delete();
    await db('ip_pools').where({ zone_id: ZONE.id }).delete();
    await db('zones').where({ id: ZONE.id }).delete();
    await run('ip', ['link', 'del', BRIDGE]).catch(() => '');
    await db.destroy();
  }, 120_000);

  async function loggedIn(token: string): Promise<Page> {
    const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    // A page that breaks shows in the test, not as a blank screen nobody sees.
    page.on('pageerror', (err) => pageErrors.push(err.message));
    await loadSteadily(page, `${TEST_API}/`, (p) => p.waitForSelector('input[name=token]', { timeout: 15_000 }));
    await page.fill('input[name=token]', token);
    await page.click('button[type=submit]');
    await page.waitForSelector('header .who');
    return page;
  }

  test('a user logs in, creates a container, sees it running with its IP, and deletes it', async () => {
    const name = `console-${crypto.randomBytes(3).toString('hex')}`;
    const u = await createUser(db, name, 'user');
    await putGrant(db, u.id, TEST_ZONE.id, { maxVcpus: 2, maxMemoryMb: 512, maxInstances: 2 });
    const page = await loggedIn((await issueToken(db, u.id)).token);

    // A wrong token is the API's problem, shown.
    const other = await browser.newPage();
    await loadSteadily(other, `${TEST_API}/`, (p) => p.waitForSelector('input[name=token]', { timeout: 15_000 }));
    await other.fill('input[name=token]', 'vc_not-a-token');
    await other.click('button[type=submit]');
    expect(await other.textContent('[role=alert]')).toMatch(/401/);
    await other.close();

    await page.click('text=Create an instance');
    await page.fill('input[name=name]', 'web-1');
    await page.selectOption('select[name=zone]', TEST_ZONE.id);
    await page.selectOption('select[name=image]', 'busybox');
    expect(await page.textContent('.grant')).toContain('2 vCPUs, 512 MB and 2 instances');
    await page.fill('input[name=memoryMb]', '64');
    await page.click('button[type=submit]');
    await page.waitForSelector('.operation [data-state=succeeded]', { timeout: 120_000 });
    expect(await page.getAttribute('.operation a', 'href')).toMatch(/\/namespaces\/default\/workflows\/instance-[0-9a-f-]+-create$/);
    await page.screenshot({ path: path.join(SHOTS, 'console-create.png') });

    await page.click('header >> text=Instances');
    await page.waitForSelector('[data-name=web-1]');
    const row = page.locator('tr', { has: page.locator('[data-name=web-1]') });
    await row.locator('[data-state=running]').waitFor({ timeout: 30_000 });
    const ip = (await row.locator('.ip').textContent())!;
    expect(ip).toMatch(new RegExp(`^${TEST_ZONE.subnet.split('.').slice(0, 3).join('\\.')}\\.\\d+$`));
    const instance = await db('instances').where({ name: 'web-1', owner_id: u.id }).whereNot({ state: 'deleted' }).first();
    made.push(instance.id);
    expect(instance.ip).toBe(ip);
    await page.screenshot({ path: path.join(SHOTS, 'console-instances.png') });

    await page.click('[data-name=web-1]');
    await page.waitForSelector('h2 [data-state=running]');
    page.once('dialog', (d) => void d.accept());
    await page.click('button:text("delete")');
    await page.waitForSelector('.operation [data-state=succeeded]', { timeout: 120_000 });
    expect((await db('instances').where({ id: instance.id }).first()).state).toBe('deleted');
    await page.close();
    expect(pageErrors).toEqual([]);
  }, 300_000);

  test('an admin sees a quarantined address and a host\'s capacity', async () => {
    await run('ip', ['link', 'add', 'name', BRIDGE, 'type', 'bridge']).catch(() => '');
    const admin = apiClient();
    expect((await admin.post('/v1/zones', ZONE)).status).toBe(201);
    expect((await admin.post(`/v1/zones/${ZONE.id}/pools`, { firstIp: '10.236.0.10', lastIp: '10.236.0.20' })).status).toBe(201);
    // What the IP-health check does to a free address that answers: quarantined.
    await db('ip_addresses').where({ zone_id: ZONE.id, address: '10.236.0.15' }).update({ state: 'quarantined' });
    const page = await loggedIn(adminToken());

    await page.click('header >> text=Zones');
    await page.click(`[data-zone=${ZONE.id}]`);
    await page.selectOption('.addresses select', 'quarantined');
    const quarantined = page.locator('tr.addr-quarantined');
    await quarantined.first().waitFor();
    expect(await quarantined.allTextContents()).toEqual([expect.stringContaining('10.236.0.15')]);
    await page.screenshot({ path: path.join(SHOTS, 'console-quarantined.png') });

    await page.click('header >> text=Hosts');
    const host = page.locator('tr', { has: page.locator(`[data-host=${HOST_A.id}]`) });
    await host.waitFor();
    const row = await db('hosts').where({ id: HOST_A.id }).first();
    expect(await host.locator('.capacity').textContent()).toBe(`${row.used_vcpus} / ${row.vcpus}`);
    await page.screenshot({ path: path.join(SHOTS, 'console-hosts.png') });
    await page.close();
    expect(pageErrors).toEqual([]);
  }, 120_000);
});
