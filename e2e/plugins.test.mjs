// A plugin end to end: a real WebAssembly plugin (app/plugins' `good` test guest, built with
// the Go toolchain) in the data directory's plugins/, the real simulated mine and web face,
// Chromium as an engineer switching it from SHADOW to AUTO.
//   MINEBRAIN_BIN=../build/bin/minebrain-headless npm test
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { addUser, freePort, start, waitForHttp, waitForPort, TEST_PASSWORD } from './lib/procs.mjs';
import { launch, login, openPage } from './lib/browser.mjs';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const BIN = path.resolve(HERE, process.env.MINEBRAIN_BIN || '../build/bin/minebrain-headless');
const OUT = path.join(HERE, 'output', new Date().toISOString().replace(/[:.]/g, '-') + '-plugins');
const GUESTS = path.resolve(HERE, '../app/plugins/testdata/guests');
const SP = 'Crushing.AF1.FeederSpeedSP';

let sim;
let serve;
let simURL;
let url;
let browser;
let page;
let problems;

before(async () => {
  assert.ok(fs.existsSync(BIN), `no Minebrain binary at ${BIN}: build it (make headless) or set MINEBRAIN_BIN`);
  const data = path.join(OUT, 'data');
  const dir = path.join(data, 'plugins', 'good');
  fs.mkdirSync(dir, { recursive: true });
  const wasm = path.join(dir, 'good.wasm');
  execFileSync('go', ['build', '-buildmode=c-shared', '-o', wasm, './good'], {
    cwd: GUESTS,
    env: { ...process.env, GOOS: 'wasip1', GOARCH: 'wasm', CGO_ENABLED: '0' },
    stdio: 'inherit',
  });
  const sha = createHash('sha256').update(fs.readFileSync(wasm)).digest('hex');
  fs.writeFileSync(
    path.join(dir, 'plugin.yaml'),
    [
      'id: good',
      'version: 1.0.0',
      'wasm: good.wasm',
      `sha256: ${sha}`,
      'abi: 1',
      'tick: 500ms',
      'memory: 32MiB',
      'budget: 200ms',
      'reads:',
      `  - ${SP}`,
      'writes:',
      `  - {tag: ${SP}, min: 20, max: 95}`,
      'config:',
      '  target: 80',
      '  limit: 95',
      '',
    ].join('\n'),
  );
  await addUser(BIN, data, 'emil', 'engineer');
  await addUser(BIN, data, 'olga', 'operator');

  const simPort = await freePort();
  const webPort = await freePort();
  simURL = `opc.tcp://127.0.0.1:${simPort}`;
  url = `http://127.0.0.1:${webPort}/`;
  sim = start('sim', BIN, ['sim', '--listen', `127.0.0.1:${simPort}`], OUT);
  await sim.waitFor(/Simulated mine/, 30_000);
  await waitForPort(simPort);
  serve = start('serve', BIN, ['serve', '--listen', `127.0.0.1:${webPort}`, '--endpoint', simURL, '--data', data], OUT);
  await serve.waitFor(/web face/i, 30_000);
  await waitForHttp(url);
  browser = await launch();
  ({ page, problems } = await openPage(browser));
});

after(async () => {
  if (page && problems?.length) console.log(`browser problems:\n  ${problems.join('\n  ')}`);
  await browser?.close().catch(() => {});
  await serve?.stop();
  await sim?.stop();
  console.log(`process logs: ${OUT}`);
});

function simValue(node) {
  const out = execFileSync(BIN, ['opc', 'read', simURL, node, '--json'], { encoding: 'utf8' });
  return Number(JSON.parse(out.trim().split('\n')[0]).value);
}

const CARD = '[data-testid="plugin-card"][data-plugin-id="good"]';

test('an operator sees the plugin running in SHADOW with its suppressed writes, and cannot switch it', async () => {
  await login(page, url, 'olga', TEST_PASSWORD);
  await page.evaluate(() => (location.hash = '#/plugins'));
  await page.waitForSelector(`${CARD}[data-state="running"][data-mode="shadow"]`, { timeout: 60_000 });
  await page.waitForSelector(`${CARD} [data-testid="plugin-write"][data-outcome="suppressed"]`, { timeout: 10_000 });
  assert.equal(simValue(`ns=2;s=${SP}`), 75, 'a SHADOW write reached the simulator');
  assert.equal(await page.$(`${CARD} [data-testid="plugin-mode-auto"]:not([disabled])`), null, 'an operator can switch to AUTO');
});

test('an engineer switches it to AUTO through the confirmation; its setpoint reaches the simulator', async () => {
  await page.click('[data-testid="logout"]');
  await login(page, url, 'emil', TEST_PASSWORD);
  await page.evaluate(() => (location.hash = '#/plugins'));
  await page.click(`${CARD} [data-testid="plugin-mode-auto"]`);
  const dialog = await page.waitForSelector('[data-testid="plugin-auto-dialog"]', { timeout: 10_000 });
  assert.match(await dialog.innerText(), /FeederSpeedSP/);
  await page.click('[data-testid="plugin-auto-confirm"]');
  await page.waitForSelector(`${CARD}[data-mode="auto"]`, { timeout: 10_000 });
  const t0 = Date.now();
  while (simValue(`ns=2;s=${SP}`) !== 80) {
    assert.ok(Date.now() - t0 < 20_000, 'the plugin\'s setpoint did not reach the simulator');
    await new Promise((r) => setTimeout(r, 300));
  }
  await page.waitForSelector(`${CARD} [data-testid="plugin-write"][data-outcome="done"]`, { timeout: 20_000 });
  await page.screenshot({ path: path.join(OUT, 'plugins.png') });
});

test('the page raised no errors', () => {
  assert.deepEqual(problems, []);
});
