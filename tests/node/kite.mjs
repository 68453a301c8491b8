// Starts the real `kite standalone` for the Node SDK tests, the way tests/e2e/conftest.py does:
// a free port, a fresh data directory, ready when the SDK's Connect + GetVersion answer, and a
// stop that fails the test when the process does not exit cleanly on SIGTERM.
//
// Binary: $KITE_BIN, else <repo>/build/kite. A missing binary fails (never a skip).

import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { MilvusClient } from '@zilliz/milvus2-sdk-node';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const REPO_ROOT = path.resolve(HERE, '..', '..');
export const KITE_BIN = process.env.KITE_BIN || path.join(REPO_ROOT, 'build', 'kite');

const READY_DEADLINE_MS = 30_000;
const STOP_TIMEOUT_MS = 15_000;

// A port nobody listens on now (the kernel picks it; closed before kite binds it).
export function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

function portOpen(port) {
  return new Promise(resolve => {
    const sock = net.connect({ host: '127.0.0.1', port });
    const done = ok => {
      sock.destroy();
      resolve(ok);
    };
    sock.setTimeout(500, () => done(false));
    sock.once('connect', () => done(true));
    sock.once('error', () => done(false));
  });
}

const delay = ms => new Promise(r => setTimeout(r, ms));

// Polls `probe` (async, returns truthy when done) every `stepMs` until `timeoutMs`; throws with
// `what` and the last value seen when it never becomes true. Tests wait on conditions with
// this, never on a fixed sleep.
export async function waitFor(what, probe, { timeoutMs = 60_000, stepMs = 100 } = {}) {
  const deadline = Date.now() + timeoutMs;
  let last;
  for (;;) {
    last = await probe();
    if (last) return last;
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}; last: ${JSON.stringify(last)}`);
    }
    await delay(stepMs);
  }
}

export class KiteServer {
  constructor({ name = 'kite', extraArgs = [] } = {}) {
    if (!fs.existsSync(KITE_BIN)) {
      throw new Error(`kite binary not found at ${KITE_BIN} (build it, or set KITE_BIN)`);
    }
    this.name = name;
    this.extraArgs = extraArgs;
    this.dir = fs.mkdtempSync(path.join(os.tmpdir(), `kite-node-${name}-`));
    this.dataDir = path.join(this.dir, 'data');
    this.logPath = path.join(this.dir, 'kite.log');
    this.proc = null;
    this.exit = null;
    this.clients = [];
  }

  get address() {
    return `127.0.0.1:${this.port}`;
  }

  async start() {
    if (!this.port) {
      // Picked once and kept across restarts, so clients reconnect to the same address.
      this.port = await freePort();
      do this.metricsPort = await freePort(); while (this.metricsPort === this.port);
    }
    const args = ['standalone', '--data-dir', this.dataDir, '--port', String(this.port),
      '--metrics-port', String(this.metricsPort), ...this.extraArgs];
    const log = fs.openSync(this.logPath, 'a');
    fs.writeSync(log, `\n===== start: ${KITE_BIN} ${args.join(' ')}\n`);
    this.exit = null;
    this.proc = spawn(KITE_BIN, args, { stdio: ['ignore', log, log] });
    fs.closeSync(log);
    this.exited = new Promise(resolve => {
      this.proc.once('exit', (code, signal) => {
        this.exit = { code, signal };
        resolve(this.exit);
      });
    });
    await this.waitReady();
    return this;
  }

  async waitReady() {
    const deadline = Date.now() + READY_DEADLINE_MS;
    let lastErr = 'the port never accepted a connection';
    while (Date.now() < deadline) {
      if (this.exit) this.fail(`kite exited (${JSON.stringify(this.exit)}) before becoming ready`);
      if (await portOpen(this.port)) {
        const probe = new MilvusClient({ address: this.address, timeout: 2000, logLevel: 'error' });
        try {
          const v = await probe.getVersion();
          if (v && typeof v.version === 'string') return;
          lastErr = `GetVersion answered ${JSON.stringify(v)}`;
        } catch (e) {
          lastErr = String(e);
        } finally {
          await probe.closeConnection().catch(() => {});
        }
      }
      await delay(100);
    }
    this.fail(`kite not ready within ${READY_DEADLINE_MS} ms; last error: ${lastErr}`);
  }

  // A client of the SDK on this server; closed by stop().
  client(options = {}) {
    const c = new MilvusClient({ address: this.address, timeout: 20_000, logLevel: 'error', ...options });
    this.clients.push(c);
    return c;
  }

  async closeClients() {
    const clients = this.clients;
    this.clients = [];
    await Promise.all(clients.map(c => c.closeConnection().catch(() => {})));
  }

  // SIGTERM and wait; a process that does not exit in time is killed and (check) fails the test;
  // so does a non-zero exit code.
  async stop({ check = true } = {}) {
    if (!this.proc) return null;
    if (!this.exit) {
      this.proc.kill('SIGTERM');
      let timer;
      const timedOut = await Promise.race([
        this.exited.then(() => false),
        new Promise(r => { timer = setTimeout(() => r(true), STOP_TIMEOUT_MS); }),
      ]);
      clearTimeout(timer); // a pending timer would hold the test process open
      if (timedOut) {
        this.proc.kill('SIGKILL');
        await this.exited;
        if (check) this.fail(`kite did not exit within ${STOP_TIMEOUT_MS} ms of SIGTERM (killed)`);
      }
    }
    const { code, signal } = this.exit;
    if (check && (code !== 0 || signal)) this.fail(`kite exited with code ${code} signal ${signal} on SIGTERM`);
    return code;
  }

  async restart() {
    await this.stop();
    return this.start();
  }

  // Teardown: closes the clients, stops the server (checked), removes the data directory
  // unless the test run failed (then the log stays for a look).
  async close({ keep = false } = {}) {
    await this.closeClients();
    try {
      await this.stop();
    } finally {
      if (!keep) fs.rmSync(this.dir, { recursive: true, force: true });
    }
  }

  logTail(lines = 60) {
    try {
      return fs.readFileSync(this.logPath, 'utf8').split('\n').slice(-lines).join('\n');
    } catch (e) {
      return `(no log: ${e})`;
    }
  }

  fail(why) {
    throw new Error(`${why}\n--- ${this.logPath} (tail) ---\n${this.logTail()}`);
  }
}

// Throws when a status-like answer is not a success: {error_code, reason} or {status: {...}}.
export function ok(res, what = 'call') {
  const st = res && res.status && typeof res.status === 'object' ? res.status : res;
  if (!st || st.error_code !== 'Success') {
    throw new Error(`${what} failed: ${JSON.stringify(st)}`);
  }
  return res;
}
