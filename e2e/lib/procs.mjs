// Starting and always stopping the real Minebrain processes of a test.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';

const running = new Set();

// Last line of defence: whatever happens to the test run, no process of ours outlives it.
process.on('exit', () => {
  for (const p of running) {
    try {
      p.kill('SIGCONT');
      p.kill('SIGKILL');
    } catch {
      /* already gone */
    }
  }
});

/** A TCP port that was free a moment ago on 127.0.0.1. */
export function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

/**
 * Starts `bin args` with its output captured in memory and in `<outDir>/<name>.log`.
 * Returns a handle with output(), waitFor(regex), stop().
 */
export function start(name, bin, args, outDir) {
  fs.mkdirSync(outDir, { recursive: true });
  const log = fs.createWriteStream(path.join(outDir, `${name}.log`));
  const child = spawn(bin, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  running.add(child);
  let text = '';
  const waiters = new Set();
  const onData = (chunk) => {
    text += chunk;
    log.write(chunk);
    for (const w of waiters) w();
  };
  child.stdout.on('data', onData);
  child.stderr.on('data', onData);
  let exit = null;
  const exited = new Promise((resolve) => {
    child.on('exit', (code, signal) => {
      exit = { code, signal };
      running.delete(child);
      log.end();
      for (const w of waiters) w();
      resolve(exit);
    });
  });
  child.on('error', (e) => onData(`spawn error: ${e.message}\n`));

  return {
    name,
    child,
    pid: child.pid,
    output: () => text,
    get exit() {
      return exit;
    },
    /** Resolves with the match once the output matches; rejects on timeout or exit. */
    waitFor(re, timeoutMs = 30_000) {
      return new Promise((resolve, reject) => {
        const check = () => {
          const m = re.exec(text);
          if (m) return done(() => resolve(m));
          if (exit) return done(() => reject(new Error(`${name} exited (${JSON.stringify(exit)}) before ${re}:\n${tail(text)}`)));
        };
        const timer = setTimeout(() => done(() => reject(new Error(`${name}: no ${re} within ${timeoutMs} ms:\n${tail(text)}`))), timeoutMs);
        const done = (f) => {
          clearTimeout(timer);
          waiters.delete(check);
          f();
        };
        waiters.add(check);
        check();
      });
    },
    signal(sig) {
      if (!exit) child.kill(sig);
    },
    /** SIGTERM, then SIGKILL if it has not exited within `graceMs`. */
    async stop(graceMs = 5000) {
      if (exit) return exit;
      child.kill('SIGCONT'); // a stopped process cannot act on SIGTERM
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
      const r = await exited;
      clearTimeout(timer);
      return r;
    },
  };
}

export function tail(text, lines = 40) {
  return text.split('\n').slice(-lines).join('\n');
}

/** Resolves once an HTTP GET of `url` answers 200. */
export async function waitForHttp(url, timeoutMs = 30_000) {
  const end = Date.now() + timeoutMs;
  let last = '';
  while (Date.now() < end) {
    try {
      const r = await fetch(url, { signal: AbortSignal.timeout(2000) });
      if (r.ok) return await r.text();
      last = `HTTP ${r.status}`;
    } catch (e) {
      last = e.message;
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`${url} did not answer 200 within ${timeoutMs} ms (last: ${last})`);
}

/** Resolves once something accepts TCP connections on the port. */
export async function waitForPort(port, timeoutMs = 30_000) {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    const ok = await new Promise((resolve) => {
      const s = net.connect(port, '127.0.0.1');
      s.once('connect', () => (s.destroy(), resolve(true)));
      s.once('error', () => resolve(false));
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`nothing listens on 127.0.0.1:${port} after ${timeoutMs} ms`);
}

/** The password of the users the tests create: at least 10 characters, not the name. */
export const TEST_PASSWORD = 'e2e-password-42';

/**
 * Creates a Minebrain user in the data directory `dataDir` before `serve` starts on it:
 * `minebrain users add NAME --role ROLE --data DIR`, the password given as the first line of
 * stdin (the command never takes it from a flag). A user that already exists is kept as it is.
 */
export function addUser(bin, dataDir, name, role, password = TEST_PASSWORD) {
  fs.mkdirSync(dataDir, { recursive: true });
  return new Promise((resolve, reject) => {
    const child = spawn(bin, ['users', 'add', name, '--role', role, '--data', dataDir], { stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (c) => (out += c));
    child.stderr.on('data', (c) => (out += c));
    child.on('error', reject);
    child.on('exit', (code) => {
      if (code === 0 || /already exists/.test(out)) resolve();
      else reject(new Error(`minebrain users add ${name} --role ${role} exited ${code}:\n${out}`));
    });
    child.stdin.end(`${password}\n`);
  });
}
