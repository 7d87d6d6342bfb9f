// End to end: the trend view (uPlot) with history from the engine's History API and the live
// tail, against the real simulated mine (`minebrain sim`) through the real web face
// (`minebrain serve --data <temp>`, so history records), in Debian's Chromium.
//   MINEBRAIN_BIN=../build/bin/minebrain-headless node --test trend.test.mjs
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { TEST_PASSWORD, addUser, freePort, start, waitForHttp, waitForPort } from './lib/procs.mjs';
import { launch, login, openPage } from './lib/browser.mjs';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const BIN = path.resolve(HERE, process.env.MINEBRAIN_BIN || '../build/bin/minebrain-headless');
const OUT = path.join(HERE, 'output', `trend-${new Date().toISOString().replace(/[:.]/g, '-')}`);
const LIVE_CELL = '[data-tag][data-quality="good"][data-stale="false"]';
const PLOT = '[data-testid="trend-plot"]';
const RANGE = '[data-testid="trend-range"]';
/** The first pen's colour (frontend/src/lib/trend.ts PALETTE[0]). */
const PEN0 = [0x1f, 0x4e, 0x99];

let sim;
let serve;
let url;
let browser;
let page;
let problems;
let unitId;
let keyTag;
let recordingSince;

before(async () => {
  assert.ok(fs.existsSync(BIN), `no Minebrain binary at ${BIN}: build it (make headless) or set MINEBRAIN_BIN`);
  const simPort = await freePort();
  const webPort = await freePort();
  url = `http://127.0.0.1:${webPort}/`;
  sim = start('sim', BIN, ['sim', '--listen', `127.0.0.1:${simPort}`, '--time-scale', '60'], OUT);
  await sim.waitFor(/Simulated mine/, 30_000);
  await waitForPort(simPort);
  await addUser(BIN, path.join(OUT, 'data'), 'ana', 'operator');
  serve = start(
    'serve',
    BIN,
    ['serve', '--listen', `127.0.0.1:${webPort}`, '--endpoint', `opc.tcp://127.0.0.1:${simPort}`, '--data', path.join(OUT, 'data')],
    OUT,
  );
  await serve.waitFor(/web face/i, 30_000);
  recordingSince = Date.now();
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

/** Pixels of the plot canvas close to the colour rgb (the pen's line and band). */
function penPixels(rgb) {
  return page.$eval(
    `${PLOT} canvas`,
    (c, [r, g, b]) => {
      const ctx = c.getContext('2d');
      const { data } = ctx.getImageData(0, 0, c.width, c.height);
      let n = 0;
      for (let i = 0; i < data.length; i += 4) {
        if (Math.abs(data[i] - r) < 40 && Math.abs(data[i + 1] - g) < 40 && Math.abs(data[i + 2] - b) < 40 && data[i + 3] > 100) n++;
      }
      return n;
    },
    rgb,
  );
}

async function plotReady(minPoints = 2) {
  await page.waitForFunction(
    ([sel, min]) => {
      const e = document.querySelector(sel);
      return e && e.dataset.state === 'ready' && Number(e.dataset.points) >= min && e.querySelector('canvas');
    },
    [PLOT, minPoints],
    { timeout: 20_000, polling: 100 },
  );
}

/** Times one History call over a WebSocket of the page's own session (its CSRF token in the URL). */
function timeHistory(req) {
  return page.evaluate(
    async (req) => {
      const { csrf } = await (await fetch('/api/session')).json();
      return new Promise((resolve, reject) => {
        const ws = new WebSocket(`${location.origin.replace(/^http/, 'ws')}/ws?csrf=${encodeURIComponent(csrf)}`);
        ws.onerror = () => reject(new Error('websocket error'));
        ws.onopen = () => {
          const t0 = performance.now();
          ws.onmessage = (m) => {
            const r = JSON.parse(m.data);
            if (r.id !== 7) return;
            const ms = performance.now() - t0;
            ws.close();
            if (r.error) return reject(new Error(r.error));
            const s = r.result.series.map((x) => ({ tag: x.tag, buckets: x.buckets.length, raw: x.raw?.length ?? 0 }));
            resolve({ ms, series: s });
          };
          ws.send(JSON.stringify({ id: 7, method: 'History', params: [req] }));
        };
      });
    },
    req,
  );
}

test('a unit signal opens a trend that draws its history and follows live values', async () => {
  await page.goto(url);
  await page.waitForSelector(LIVE_CELL, { timeout: 30_000 });
  unitId = (await page.$('[data-unit="Pit.SH01"]')) ? 'Pit.SH01' : await page.getAttribute('[data-area="Pit"] [data-unit]', 'data-unit');
  // A key signal: the first value the overview tile shows that a trend can draw.
  const tileTags = await page.$$eval(`[data-unit="${unitId}"] [data-tag]`, (els) => els.map((e) => e.dataset.tag));
  // Let some history accumulate.
  await page.waitForTimeout(6000);
  await page.click(`[data-unit="${unitId}"]`);
  await page.waitForSelector(`[data-unit-view="${unitId}"]`);
  const trendable = await page.$$eval('[data-trend-link]', (els) => els.map((e) => e.dataset.trendLink));
  keyTag = tileTags.find((t) => trendable.includes(t) && !/RunState|Mode/.test(t)) ?? trendable[0];
  assert.ok(keyTag, `no trend link in ${unitId}`);
  console.log(`trend of ${keyTag} (key signals of ${unitId}: ${tileTags.join(', ')})`);

  const t0 = Date.now();
  await page.click(`[data-trend-link="${keyTag}"]`);
  await page.waitForSelector('[data-trend-view]');
  assert.match(new URL(page.url()).hash, /^#\/trend\?tags=.+&range=1h$/);
  await plotReady(5);
  console.log(`trend drawn ${Date.now() - t0} ms after the click`);
  assert.ok(await page.$('[data-testid="trend-following"]'), 'not following after opening');
  assert.match(await page.textContent(RANGE), /\(1 h\)/);
  // The legend names the pen with its unit.
  const legend = await page.textContent(`[data-pen="${keyTag}"]`);
  assert.ok(legend.includes(keyTag), `legend: ${legend}`);

  // The 10-minute view makes the few minutes of history wide enough to see.
  await page.click('button:has-text("10 min")');
  await page.waitForFunction((sel) => /\(10 min\)/.test(document.querySelector(sel)?.textContent ?? ''), RANGE);
  await plotReady(5);
  await page.waitForTimeout(300);
  const px = await penPixels(PEN0);
  console.log(`pen pixels on the canvas: ${px}`);
  assert.ok(px > 30, `only ${px} pixels of the pen colour: nothing drawn?`);

  // Live: the point count grows as values arrive.
  const n0 = Number(await page.getAttribute(PLOT, 'data-points'));
  await page.waitForFunction(([sel, n]) => Number(document.querySelector(sel).dataset.points) > n, [PLOT, n0], { timeout: 10_000 });
});

test('dragging zooms in and re-queries; the wheel zooms; Live returns to following', async () => {
  const before = await page.textContent(RANGE);
  const box = await page.locator(`${PLOT} .u-over`).boundingBox();
  const y = box.y + box.height / 2;
  // Drag over the part of the 10-minute view that has history (recorded since the web face
  // started, maybe only 20 s ago), so that the zoomed view has points to draw.
  await page.waitForTimeout(Math.max(0, recordingSince + 25_000 - Date.now()));
  const viewFrom = Date.now() - 10 * 60_000;
  const at = (t) => box.x + (box.width * (t - viewFrom)) / (10 * 60_000);
  const x0 = at(recordingSince + 3_000);
  const x1 = at(Date.now() - 2_000);
  await page.mouse.move(x0, y);
  await page.mouse.down();
  await page.mouse.move((x0 + x1) / 2, y, { steps: 8 });
  await page.mouse.move(x1, y, { steps: 8 });
  await page.mouse.up();
  await page.waitForFunction(([sel, b]) => document.querySelector(sel).textContent !== b, [RANGE, before], { timeout: 5000 });
  const zoomed = await page.textContent(RANGE);
  console.log(`range: ${before} -> ${zoomed}`);
  assert.equal(await page.$('[data-testid="trend-following"]'), null, 'still following after a zoom');
  assert.doesNotMatch(zoomed, /\(10 min\)/);
  await plotReady(2);

  // Wheel out around the cursor.
  await page.mouse.move(box.x + box.width * 0.5, y);
  await page.mouse.wheel(0, 300);
  await page.waitForFunction(([sel, b]) => document.querySelector(sel).textContent !== b, [RANGE, zoomed], { timeout: 5000 });
  console.log(`after the wheel: ${await page.textContent(RANGE)}`);
  await plotReady(2);

  // Arrow key pans back.
  const beforePan = await page.textContent(RANGE);
  await page.focus(PLOT);
  await page.keyboard.press('ArrowLeft');
  await page.waitForFunction(([sel, b]) => document.querySelector(sel).textContent !== b, [RANGE, beforePan], { timeout: 5000 });

  await page.click('[data-testid="trend-live"]');
  await page.waitForSelector('[data-testid="trend-following"]');
  await page.waitForFunction((sel) => /\(10 min\)/.test(document.querySelector(sel).textContent), RANGE);
  await plotReady(5);
});

test('several signals: "Trend selected" draws one pen per signal with its unit', async () => {
  await page.evaluate((id) => (location.hash = `#/unit/${encodeURIComponent(id)}`), unitId);
  await page.waitForSelector(`[data-unit-view="${unitId}"]`);
  const picks = await page.$$eval('[data-trend-pick]', (els) => els.map((e) => e.dataset.trendPick));
  const chosen = [keyTag, ...picks.filter((t) => t !== keyTag && !/RunState|Mode/.test(t))].slice(0, 3);
  for (const t of chosen) await page.check(`[data-trend-pick="${t}"]`);
  await page.click('[data-trend-selected]');
  await page.waitForSelector('[data-trend-view]');
  await plotReady(5);
  const pens = await page.$$eval('[data-pen]', (els) => els.map((e) => e.dataset.pen));
  assert.deepEqual(pens, chosen);
  const axes = await page.$$eval('[data-pen] td:nth-child(3)', (els) => els.map((e) => e.textContent.trim()));
  console.log(`pens: ${chosen.join(', ')}; axes: ${axes.join(', ')}`);
  assert.equal(axes[0], 'left');
});

test('History errors show in the view; History latency', async () => {
  await page.evaluate(() => (location.hash = '#/trend?tags=No.Such.Tag&range=10m'));
  await page.waitForSelector('[data-testid="trend-error"]', { timeout: 10_000 });
  assert.match(await page.textContent('[data-testid="trend-error"]'), /unknown tags.*No\.Such\.Tag/);

  const now = Date.now();
  const times = [];
  let last;
  for (let i = 0; i < 5; i++) {
    last = await timeHistory({ tags: [keyTag], from: now - 3600_000, to: now, buckets: 1500 });
    times.push(last.ms);
  }
  times.sort((a, b) => a - b);
  console.log(
    `History of the last hour (the ${Math.round((Date.now() - recordingSince) / 1000)} s this test recorded), 1500 buckets, ` +
      `over the WebSocket: median ${times[2].toFixed(1)} ms, max ${times[4].toFixed(1)} ms; reply ${JSON.stringify(last.series)}`,
  );
  assert.ok(last.series[0].raw + last.series[0].buckets > 0, 'History returned nothing');
  assert.ok(last.series[0].raw <= 2 * 1500 && last.series[0].buckets <= 1500);
  const week = await timeHistory({ tags: [keyTag], from: now - 7 * 86_400_000, to: now, buckets: 1500 });
  console.log(`History of 7 days, 1500 buckets: ${week.ms.toFixed(1)} ms; reply ${JSON.stringify(week.series)}`);
});

test('the page raised no errors', () => {
  assert.deepEqual(problems, []);
});
