import { chromium, type Browser, type Page } from 'playwright-core';

/** Debian's chromium (its own browser download cannot work here), headless, as root. */
export const launchChromium = (): Promise<Browser> =>
  chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--no-sandbox', '--disable-gpu'] });

/**
 * Loads `url` until `ready` holds on the page. The tests add and remove links (veth pairs, bridges) while a
 * browser runs, and chromium aborts what is in flight when it sees the network change
 * (net::ERR_NETWORK_CHANGED): a load cut short that way is loaded again, a few times at most.
 */
export async function loadSteadily(page: Page, url: string, ready: (page: Page) => Promise<unknown>, attempts = 4): Promise<void> {
  let last: unknown;
  for (let i = 0; i < attempts; i++) {
    try {
      await page.goto(url);
      await ready(page);
      return;
    } catch (err) {
      last = err;
      await new Promise((r) => setTimeout(r, 2000));
    }
  }
  throw last;
}
