import type { Browser } from 'playwright-core';
import { launchChromium, loadSteadily } from '../helpers/browser';
import { apiClient, createBody, deleteInstances, temporalClient, waitForOperation, waitUntil, type ApiClient } from '../helpers/platform';
import { HOST_A, TEST_ZONE } from '../helpers/env';

/**
 * What operators use: an operation's temporalUiUrl opens its workflow in the Temporal UI (the dev server's,
 * loaded in chromium), and visibility finds the workflow by each of the project's search attributes.
 */
describe('operators\' Temporal UI', () => {
  let api: ApiClient;
  let browser: Browser;
  const made: string[] = [];
  beforeAll(async () => {
    api = apiClient();
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
    await deleteInstances(api, made);
  }, 120_000);

  test('visibility answers a query by each search attribute, and the UI\'s page for the workflow loads it', async () => {
    const res = await api.post('/v1/instances', createBody('ui-1', { host: HOST_A.id }));
    made.push(res.body.instance.id);
    const op = await waitForOperation(api, res.body.operation.id);
    expect(op.state).toBe('succeeded');
    expect(op.temporalUiUrl).toBe(`http://127.0.0.1:8233/namespaces/default/workflows/${encodeURIComponent(op.workflowId)}`);

    const t = await temporalClient();
    try {
      for (const [key, value] of [['VcInstanceId', res.body.instance.id], ['VcHostId', HOST_A.id], ['VcZone', TEST_ZONE.id], ['VcOperation', 'create']]) {
        await waitUntil(`visibility by ${key}`, async () => {
          for await (const w of t.client.workflow.list({ query: `${key} = '${value}' AND WorkflowId = '${op.workflowId}'` })) if (w.workflowId === op.workflowId) return true;
          return false;
        }, 30_000);
      }
    } finally {
      await t.close();
    }

    const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    try {
      // The page renders the workflow from the UI server's API: its id, its type and its end are on it.
      await loadSteadily(page, op.temporalUiUrl, (p) => p.waitForFunction((id) => {
        const text = document.body.innerText;
        return text.includes(id) && text.includes('createInstance') && /Completed/.test(text);
      }, op.workflowId, { timeout: 20_000 }));
      expect(page.url()).toContain(`/workflows/${op.workflowId}/`);
    } finally {
      await page.close();
    }
  }, 240_000);
});
