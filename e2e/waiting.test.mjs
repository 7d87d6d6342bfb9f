// A remote mine whose equipment is not up when Minebrain starts: `minebrain serve --endpoint`
// to a port where nothing listens yet must come up, say what it is waiting for, and show the
// mine as soon as its OPC UA server appears, without the operator reloading the page.
//   MINEBRAIN_BIN=../build/bin/minebrain-headless npm test
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { TEST_PASSWORD, addUser, freePort, start, waitForHttp, waitForPort } from './lib/procs.mjs';
import { launch, login, openPage } from './lib/browser.mjs';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const BIN = path.resolve(HERE, process.env.MINEBRAIN_BIN || '../build/bin/minebrain-headless');
const OUT = path.join(HERE, 'output', `waiting-${new Date().toISOString().replace(/[:.]/g, '-')}`);
const REMOTE_AREAS = ['Pit', 'Crushing', 'Haulage'];
const LIVE_CELL = '[data-tag][data-quality="good"][data-stale="false"]';

let sim;
let serve;
let simPort;
let url;
let browser;
let page;
let problems;

before(async () => {
  assert.ok(fs.existsSync(BIN), `no Minebrain binary at ${BIN}: build it (make headless) or set MINEBRAIN_BIN`);
  simPort = await freePort(); // the mine's server: nothing listens here until the test says so
  const webPort = await freePort();
  url = `http://127.0.0.1:${webPort}/`;
  await addUser(BIN, path.join(OUT, 'data'), 'ana', 'operator');
  serve = start('serve', BIN, ['serve', '--listen', `127.0.0.1:${webPort}`, '--endpoint', `opc.tcp://127.0.0.1:${simPort}`, '--data', path.join(OUT, 'data')], OUT);
  await serve.waitFor(/web face/i, 10_000);
  await waitForHttp(url);
  browser = await launch();
  ({ page, problems } = await openPage(browser));
  await login(page, url, 'ana', TEST_PASSWORD);
});

after(async () => {
  if (page && problems?.length) console.log(`browser problems:\n  ${problems.join('\n  ')}`);
  await browser?.close().catch(() => {});
  await serve?.stop();
  await sim?.stop();
  console.log(`process logs: ${OUT}`);
});

test('without its OPC UA server the page says what it waits for', async () => {
  await page.goto(url);
  const endpoint = `opc.tcp://127.0.0.1:${simPort}`;
  await page.waitForFunction(
    (want) => document.querySelector('[data-waiting]')?.textContent.includes(want),
    `Waiting for ${endpoint}: `,
    { timeout: 10_000 },
  );
  const text = (await page.textContent('[data-waiting]')).trim().replace(/\s+/g, ' ');
  console.log(`waiting state: ${text}`);
  assert.match(text, /refused/, 'the waiting message does not say why');
  assert.equal(await page.$$eval('[data-unit]', (els) => els.length), 0);
  assert.equal(serve.exit, null, 'serve exited without its OPC UA server');
  // Marks this document: if the page were reloaded to show the mine, the mark would be gone.
  await page.evaluate(() => (window.__sameDocument = true));
});

test('when the server comes up, units and live values appear without a reload', async () => {
  sim = start('sim', BIN, ['sim', '--listen', `127.0.0.1:${simPort}`, '--time-scale', '60'], OUT);
  await sim.waitFor(/Simulated mine/, 30_000);
  await waitForPort(simPort);
  const t0 = Date.now();
  // The engine reconnects with backoff (at most 10 s between attempts).
  await page.waitForSelector(LIVE_CELL, { timeout: 40_000 });
  console.log(`sim up: live values on the page after ${Date.now() - t0} ms`);
  assert.equal(await page.evaluate(() => window.__sameDocument), true, 'the page was reloaded');
  assert.equal(await page.$('[data-waiting]'), null, 'the waiting message is still shown');
  const areas = await page.$$eval('[data-area]', (els) =>
    Object.fromEntries(els.map((a) => [a.dataset.area, a.querySelectorAll('[data-unit]').length])),
  );
  const remote = REMOTE_AREAS.reduce((n, a) => n + (areas[a] ?? 0), 0);
  assert.ok(remote >= 28, `only ${remote} units in ${REMOTE_AREAS.join('/')}: ${JSON.stringify(areas)}`);
  const [, units] = await serve.waitFor(/frontend ready.*units=(\d+)/i, 10_000);
  assert.ok(Number(units) >= 28, `Ready reported ${units} units`);
  assert.equal(serve.output().match(/frontend ready/gi).length, 1, 'Ready reported more than once');
});

test('the page raised no errors', () => {
  assert.deepEqual(problems, []);
});
