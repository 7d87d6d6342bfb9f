// Debian's Chromium driven by playwright-core. Never a downloaded browser: mines are offline
// and so is CI.
import { chromium } from 'playwright-core';

export const CHROMIUM = process.env.CHROMIUM_BIN || '/usr/bin/chromium';

export function launch() {
  return chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}

/** A page the size of a control-room screen, with browser errors collected for the report. */
export async function openPage(browser, { width = 1600, height = 1000 } = {}) {
  const context = await browser.newContext({ viewport: { width, height } });
  const page = await context.newPage();
  const problems = [];
  page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
  page.on('console', (m) => {
    // A refused reconnect (the WebSocket, or the session check that goes with it) while the
    // web face is down is expected; the page shows it itself.
    const refused = /WebSocket connection to .* failed|net::ERR_CONNECTION_REFUSED/.test(m.text());
    if (m.type() === 'error' && !refused) problems.push(`console: ${m.text()}`);
  });
  return { context, page, problems };
}

/**
 * Opens `url` and logs in through the login form, then waits for the application's header.
 * The session cookie stays in the page's browser context, so later page.goto calls to the
 * same server are logged in (a cookie is per host, not per port: logging in to another server on 127.0.0.1
 * replaces it, so log in again when going back to the first
 * server).
 */
export async function login(page, url, name, password, { timeout = 30_000 } = {}) {
  await page.goto(url);
  await fillLogin(page, name, password, { timeout });
}

/**
 * Logs in through the login form the page shows now, without navigating: e.g. after the
 * server restarted (sessions live in its memory, so a restart logs everyone out).
 */
export async function fillLogin(page, name, password, { timeout = 30_000 } = {}) {
  await page.waitForSelector('[data-testid="login-name"]', { timeout });
  await page.fill('[data-testid="login-name"]', name);
  await page.fill('[data-testid="login-password"]', password);
  await page.click('[data-testid="login-submit"]');
  await page.waitForSelector('[data-testid="header"]', { timeout });
}
