// End to end through the web face: the real simulated mine (`minebrain sim`) and the real web
// face (`minebrain serve`) as processes, Debian's Chromium as the operator.
//   MINEBRAIN_BIN=../build/bin/minebrain-headless npm test
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { TEST_PASSWORD, addUser, freePort, start, waitForHttp, waitForPort } from './lib/procs.mjs';
import { fillLogin, launch, login, openPage } from './lib/browser.mjs';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const BIN = path.resolve(HERE, process.env.MINEBRAIN_BIN || '../build/bin/minebrain-headless');
const OUT = path.join(HERE, 'output', new Date().toISOString().replace(/[:.]/g, '-'));
const SCREENSHOT = path.resolve(HERE, '../docs/screenshot.png');
const REMOTE_AREAS = ['Pit', 'Crushing', 'Haulage'];
const UTILITY_AREAS = ['Water', 'Power', 'Heating'];
const LIVE_CELL = '[data-tag][data-quality="good"][data-stale="false"]';

let sim;
let serve;
let simPort;
let webPort;
let url;
let browser;
let page;
let problems;
/** Tags whose shown value changed during the live-values test: the ones that must go stale. */
let changingTags = [];

function startServe() {
  return start('serve', BIN, ['serve', '--listen', `127.0.0.1:${webPort}`, '--endpoint', `opc.tcp://127.0.0.1:${simPort}`, '--data', path.join(OUT, 'data')], OUT);
}

before(async () => {
  assert.ok(fs.existsSync(BIN), `no Minebrain binary at ${BIN}: build it (make headless) or set MINEBRAIN_BIN`);
  simPort = await freePort();
  webPort = await freePort();
  url = `http://127.0.0.1:${webPort}/`;
  sim = start('sim', BIN, ['sim', '--listen', `127.0.0.1:${simPort}`, '--time-scale', '60'], OUT);
  await sim.waitFor(/Simulated mine/, 30_000);
  await waitForPort(simPort);
  await addUser(BIN, path.join(OUT, 'data'), 'ana', 'operator');
  serve = startServe();
  await serve.waitFor(/web face/i, 30_000);
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

/** Every value cell on the page: tag -> { text, quality, stale }. */
function readCells() {
  return page.$$eval('[data-tag]', (els) =>
    Object.fromEntries(
      els.map((e) => [e.dataset.tag, { text: e.querySelector('.num')?.textContent ?? '', quality: e.dataset.quality, stale: e.dataset.stale }]),
    ),
  );
}

async function gotoOverview() {
  if (!page.url().startsWith(url)) await page.goto(url);
  else await page.evaluate(() => (location.hash = '#/'));
  await page.waitForSelector('[data-area]');
}

test('the overview shows every unit by area, with live values, and reports Ready', async () => {
  const t0 = Date.now();
  await page.goto(url);
  await page.waitForSelector(LIVE_CELL, { timeout: 30_000 });
  const firstLive = Date.now() - t0;
  await page.waitForFunction(() => document.documentElement.dataset.firstLivePaintMs, null, { timeout: 10_000 });
  const inPage = await page.evaluate(() => Number(document.documentElement.dataset.firstLivePaintMs));
  console.log(`first overview paint with live values: ${firstLive} ms from navigation (in-page, at Ready: ${inPage} ms)`);

  const areas = await page.$$eval('[data-area]', (els) =>
    Object.fromEntries(els.map((a) => [a.dataset.area, a.querySelectorAll('[data-unit]').length])),
  );
  console.log(`units by area: ${JSON.stringify(areas)}`);
  const remote = REMOTE_AREAS.reduce((n, a) => n + (areas[a] ?? 0), 0);
  assert.ok(remote >= 28, `only ${remote} units in ${REMOTE_AREAS.join('/')}`);
  for (const a of UTILITY_AREAS) assert.ok(areas[a] >= 1, `no units in area ${a}`);
  // Every tile carries its state and values.
  const bare = await page.$$eval('[data-unit]', (els) => els.filter((e) => !e.querySelector('[data-tag]')).map((e) => e.dataset.unit));
  assert.deepEqual(bare, [], 'tiles without values');
  assert.equal(await page.textContent('[data-site]').then((s) => s.trim().length > 0), true);

  // The face logs the frontend's Ready (the desktop smoke test relies on the same line).
  const [, units] = await serve.waitFor(/frontend ready.*units=(\d+)/i, 10_000);
  assert.ok(Number(units) >= 28, `Ready reported ${units} units`);
});

test('live values change over a few seconds', async () => {
  await gotoOverview();
  await page.waitForTimeout(1000);
  const first = await readCells();
  await page.waitForTimeout(4000);
  const second = await readCells();
  changingTags = Object.keys(second).filter((t) => first[t] && first[t].text !== second[t].text);
  const live = Object.values(second).filter((c) => c.quality === 'good' && c.stale === 'false').length;
  console.log(`value cells: ${Object.keys(second).length}, live and good: ${live}, changed in 4 s: ${changingTags.length}`);
  assert.ok(changingTags.length >= 10, `only ${changingTags.length} values changed in 4 s`);
  assert.ok(live >= Object.keys(second).length * 0.5, `only ${live} live good values`);

  // The overview screenshot for the docs, once values have settled.
  fs.mkdirSync(path.dirname(SCREENSHOT), { recursive: true });
  await page.screenshot({ path: SCREENSHOT, fullPage: true });
});

test('a unit view opens by click, lists its signals and returns on Escape', async () => {
  await gotoOverview();
  const id = (await page.$('[data-unit="Pit.SH01"]')) ? 'Pit.SH01' : await page.getAttribute('[data-area="Pit"] [data-unit]', 'data-unit');
  await page.click(`[data-unit="${id}"]`);
  await page.waitForSelector(`[data-unit-view="${id}"]`);
  assert.equal(new URL(page.url()).hash, `#/unit/${encodeURIComponent(id)}`);
  const rows = await page.$$eval('[data-signal]', (els) =>
    els.map((r) => ({
      tag: r.dataset.signal,
      quality: r.querySelector('[data-quality-text]')?.textContent.trim(),
      cell: r.querySelector('[data-tag]')?.dataset.quality,
    })),
  );
  console.log(`${id}: ${rows.length} signals`);
  assert.ok(rows.length >= 5, `only ${rows.length} signals`);
  assert.ok(rows.some((r) => r.tag === `${id}.RunState`), 'no RunState row');
  for (const r of rows) {
    assert.ok(r.quality, `${r.tag}: no quality text`);
    assert.ok(r.cell, `${r.tag}: no value cell`);
  }
  await page.keyboard.press('Escape');
  await page.waitForSelector('[data-area]');
  assert.equal(await page.evaluate(() => document.activeElement?.dataset?.unit), id, 'focus did not return to the tile');
});

test('the keyboard alone reaches a tile, opens it with Enter and leaves with Escape', async () => {
  await page.goto(url);
  await page.waitForSelector(LIVE_CELL);
  let focused;
  for (let i = 0; i < 20 && !focused; i++) {
    await page.keyboard.press('Tab');
    focused = await page.evaluate(() => document.activeElement?.dataset?.unit);
  }
  assert.ok(focused, 'Tab never reached a unit tile');
  const ring = await page.evaluate(() => getComputedStyle(document.activeElement).outlineStyle);
  assert.notEqual(ring, 'none', 'no visible focus ring');
  await page.keyboard.press('Enter');
  await page.waitForSelector(`[data-unit-view="${focused}"]`);
  assert.ok((await page.$$('[data-signal]')).length > 0);
  await page.keyboard.press('Escape');
  await page.waitForSelector(`[data-unit="${focused}"]`);
  assert.equal(await page.evaluate(() => document.activeElement?.dataset?.unit), focused);
});

test('values that stop updating are shown stale (sim stopped with SIGSTOP), and recover', async () => {
  await gotoOverview();
  await page.waitForSelector(LIVE_CELL);
  const watched = changingTags.length ? changingTags : Object.keys(await readCells());
  const t0 = Date.now();
  sim.signal('SIGSTOP');
  try {
    // Every value that was changing must be shown stale within 15 s. (The engine later also
    // turns them Bad when it gives the session up; Bad alone would not prove the page noticed.)
    await page.waitForFunction(
      (tags) =>
        tags.every((t) => {
          const e = document.querySelector(`[data-tag="${CSS.escape(t)}"]`);
          return !e || e.dataset.stale === 'true';
        }),
      watched,
      { timeout: 15_000, polling: 250 },
    );
    const after = Date.now() - t0;
    const cells = Object.values(await readCells());
    const notLive = cells.filter((c) => c.stale === 'true' || c.quality === 'bad').length;
    const states = await page.$$eval('[data-connection]', (els) => els.map((e) => `${e.dataset.connection}=${e.dataset.state}`));
    console.log(`sim stopped: changing values stale after ${after} ms; ${notLive}/${cells.length} cells stale or bad; connections: ${states.join(', ')}`);
    // The engine marks the connection stale after 5 s of silence (Contract 2), so every value
    // - also the constant ones - must be flagged.
    await page.waitForFunction(
      () => [...document.querySelectorAll('[data-tag]')].every((e) => e.dataset.stale === 'true'),
      null,
      { timeout: 15_000 - Math.min(after, 10_000), polling: 250 },
    );
    // ... and the page says why, in a banner.
    await page.waitForSelector('[data-banner="connection"]', { timeout: 5000 });
    // Stale values say so in words, not only by dimming.
    const marked = await page.$$eval('[data-tag][data-stale="true"]', (els) => els.filter((e) => /STALE/.test(e.textContent)).length);
    const staleCount = await page.$$eval('[data-tag][data-stale="true"]', (els) => els.length);
    assert.equal(marked, staleCount);
  } finally {
    sim.signal('SIGCONT');
  }
  const t1 = Date.now();
  await page.waitForFunction(
    (tags) => tags.some((t) => document.querySelector(`[data-tag="${CSS.escape(t)}"][data-quality="good"][data-stale="false"]`)),
    watched,
    { timeout: 60_000, polling: 500 },
  );
  console.log(`sim resumed: live values again after ${Date.now() - t1} ms`);
});

test('losing the web face shows "connection to Minebrain lost", and the page recovers', async () => {
  await gotoOverview();
  await page.waitForSelector(LIVE_CELL);
  await serve.stop();
  await page.waitForSelector('[data-banner="link-lost"]', { timeout: 15_000 });
  assert.match(await page.textContent('[data-banner="link-lost"]'), /Connection to Minebrain lost/);
  await page.waitForFunction(() => !document.querySelector('[data-tag][data-stale="false"]'), null, { timeout: 5000 });

  serve = startServe();
  await serve.waitFor(/web face/i, 30_000);
  // Sessions live in the server's memory: the restarted server asks for the login again.
  await fillLogin(page, 'ana', TEST_PASSWORD);
  await page.waitForSelector('[data-banner="link-lost"]', { state: 'detached', timeout: 30_000 });
  await page.waitForSelector(LIVE_CELL, { timeout: 30_000 });
});

test('the page raised no errors', () => {
  assert.deepEqual(problems, []);
});
