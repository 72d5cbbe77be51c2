// Browser-test harness: runs the real pharos binary on a loopback port of its choosing with a fresh data
// directory, drives Debian's Chromium through playwright-core (never a downloaded browser), and
// keeps screenshots and measurements in e2e/artifacts/.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import assert from 'node:assert/strict';
import { chromium } from 'playwright-core';

const here = dirname(fileURLToPath(import.meta.url));
export const REPO_ROOT = resolve(here, '../..');
export const ARTIFACTS = join(here, 'artifacts');
export const CHROMIUM = process.env.PHAROS_CHROMIUM ?? '/usr/bin/chromium';
const PHAROS_BIN = process.env.PHAROS_BIN ?? join(REPO_ROOT, 'target/debug/pharos');

// Flags for a headless Chromium in a container: no sandbox (we run as root), no GPU, and no
// background traffic to Google services (the tests must only talk to 127.0.0.1).
const CHROMIUM_ARGS = [
  '--headless=new',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-dev-shm-usage',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-default-apps',
  '--disable-sync',
  '--no-first-run',
  '--metrics-recording-only',
  '--mute-audio',
];

/** The Prometheus the peers script runs, or undefined (tests then skip unless peers are required). */
export function prometheusUrl() {
  const url = process.env.PHAROS_TEST_PROMETHEUS_URL;
  if (!url && process.env.PHAROS_REQUIRE_PEERS === '1') {
    throw new Error('PHAROS_REQUIRE_PEERS=1 but PHAROS_TEST_PROMETHEUS_URL is unset: start the peers (scripts/peers.sh)');
  }
  return url;
}

// pharos listens on port 0 and writes the address it got to --addr-file (no free-port race).
async function boundAddress(addrFile, child, log, deadline) {
  for (;;) {
    if (existsSync(addrFile)) return readFileSync(addrFile, 'utf8').trim();
    if (child.exitCode !== null) throw new Error(`pharos exited with ${child.exitCode}:\n${log.join('')}`);
    if (Date.now() > deadline) throw new Error(`pharos wrote no --addr-file in 30 s:\n${log.join('')}`);
    await sleep(50);
  }
}

// The binary's environment without a developer's PHAROS_* settings (a real database, say).
const cleanEnv = () => Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('PHAROS_')));

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** The first user pharos creates on an empty data directory (docs/user/authentication.md). */
export const ADMIN = 'admin';

/**
 * Starts pharos; resolves once /ready answers. Without `demo: true` it runs with `--no-demo`: the
 * simulator's 6 h backfill costs a minute of CPU that only the demo dashboard test needs.
 * Logins are on (the default) with a random admin password per run (`password`); `auth:
 * 'disabled'` starts it with `--auth disabled`. `config` is the text of a YAML config file passed
 * with `--config` (login providers, say). `api()` and `fetch()` log in once and send the access
 * token (renewed before it expires).
 */
export async function startPharos({ demo = false, auth = 'native', config } = {}) {
  if (!existsSync(PHAROS_BIN)) {
    throw new Error(`${PHAROS_BIN} does not exist: run \`cargo build -p pharos\` first (or set PHAROS_BIN)`);
  }
  const dataDir = mkdtempSync(join(tmpdir(), 'pharos-ui-e2e-'));
  const addrFile = join(dataDir, 'addr');
  mkdirSync(ARTIFACTS, { recursive: true });
  const log = [];
  const authEnabled = auth !== 'disabled';
  const password = randomBytes(18).toString('base64url');
  const configFile = join(dataDir, 'config.yaml');
  if (config !== undefined) writeFileSync(configFile, config);
  const args = [
    '--data-dir', dataDir, '--listen', '127.0.0.1:0', '--addr-file', addrFile,
    ...(demo ? [] : ['--no-demo']),
    ...(authEnabled ? [] : ['--auth', 'disabled']),
    ...(config === undefined ? [] : ['--config', configFile]),
  ];
  const child = spawn(PHAROS_BIN, args, {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...cleanEnv(), PHAROS_LOG_LEVEL: process.env.PHAROS_LOG_LEVEL ?? 'warn', PHAROS_ADMIN_PASSWORD: password },
  });
  child.stdout.on('data', (d) => log.push(String(d)));
  child.stderr.on('data', (d) => log.push(String(d)));
  const deadline = Date.now() + 30_000;
  const base = `http://${await boundAddress(addrFile, child, log, deadline)}`;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`pharos exited with ${child.exitCode}:\n${log.join('')}`);
    try {
      if ((await fetch(`${base}/ready`)).ok) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`pharos did not become ready in 30 s:\n${log.join('')}`);
    await sleep(100);
  }
  // One login for the whole run; a new one shortly before the access token expires.
  let session;
  const token = async () => {
    if (session && Date.now() < session.renewAt) return session.token;
    const answer = await fetch(`${base}/api/auth/providers/native/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ login: ADMIN, password }),
    });
    const text = await answer.text();
    assert.equal(answer.status, 200, `logging in as ${ADMIN}: ${text}`);
    const json = JSON.parse(text);
    assert.equal(json.token_type, 'Bearer', text);
    assert.ok(json.access_token, text);
    const lifetime = Number(json.expires_in) > 0 ? Number(json.expires_in) * 1000 : 60_000;
    session = { token: json.access_token, renewAt: Date.now() + lifetime / 2 };
    return session.token;
  };
  const authorized = async (headers = {}) => (authEnabled ? { authorization: `Bearer ${await token()}`, ...headers } : headers);
  return {
    base,
    authEnabled,
    /** The admin's password (random per run). */
    password,
    token,
    /** `fetch` of a path of this pharos, as the admin. */
    async fetch(path, init = {}) {
      return fetch(`${base}${path}`, { ...init, headers: await authorized(init.headers) });
    },
    async api(method, path, body, headers = {}) {
      const response = await fetch(`${base}${path}`, {
        method,
        headers: await authorized({ ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...headers }),
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      const text = await response.text();
      let json;
      try {
        json = text ? JSON.parse(text) : undefined;
      } catch {
        json = undefined;
      }
      return { status: response.status, etag: response.headers.get('etag'), json, text };
    },
    async stop() {
      child.kill('SIGTERM');
      for (let i = 0; i < 50 && child.exitCode === null; i++) await sleep(100);
      if (child.exitCode === null) child.kill('SIGKILL');
      rmSync(dataDir, { recursive: true, force: true });
      writeFileSync(join(ARTIFACTS, 'pharos.log'), log.join(''));
    },
  };
}

/**
 * Launches Chromium. Every page records console errors, page errors, CSP violations and dialogs
 * in `problems`; a test claims the ones it expects with `expectProblems`, and any problem no test
 * claimed fails the suite. A dialog nobody waits for with `nextDialog` is a problem and is dismissed.
 */
export async function launchBrowser() {
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS, headless: true });
  const problems = [];
  /** Another context (its own cookies: a browser without a session), watched the same way. */
  const newContext = async () => {
    const created = await browser.newContext({ viewport: { width: 1600, height: 1000 }, colorScheme: 'light' });
    created.on('page', (page) => watchPage(page, problems));
    return created;
  };
  const context = await newContext();
  return { browser, context, problems, newContext };
}

/**
 * Logs `context` in as the admin through the real login page (the server sets the session
 * cookies, shared by every page of the context). Fails on any browser problem on the way.
 */
export async function logIn(context, pharos, problems) {
  assert.ok(pharos.authEnabled, 'this pharos runs with --auth disabled: there is nothing to log in to');
  const page = await context.newPage();
  await page.goto(`${pharos.base}/login?rd=%2F`);
  await page.getByLabel('Username').fill(ADMIN);
  await page.getByLabel('Password').fill(pharos.password);
  await page.getByRole('button', { name: 'Sign in', exact: true }).click();
  await page.waitForURL(`${pharos.base}/`);
  assert.equal(await page.getByTestId('user-menu').innerText(), ADMIN);
  const cookies = (await context.cookies(pharos.base)).map((c) => c.name);
  for (const name of ['jwtPayload', 'jwtSignature', 'jwtRefreshToken']) assert.ok(cookies.includes(name), `cookies after login: ${cookies}`);
  expectProblems(problems, page);
  await page.close();
}

const dialogWaiters = new WeakMap();

function watchPage(page, problems) {
  const record = (problem) => problems.push({ ...problem, page, url: page.url(), claimed: false });
  page.on('console', (message) => {
    // For "Failed to load resource" the location is the resource that failed.
    if (message.type() === 'error') record({ kind: 'console', text: message.text(), resource: message.location()?.url ?? '' });
  });
  page.on('pageerror', (error) => record({ kind: 'pageerror', text: String(error), resource: '' }));
  page.on('dialog', (dialog) => {
    const waiter = dialogWaiters.get(page)?.shift();
    if (waiter) return waiter(dialog);
    record({ kind: 'dialog', text: `unexpected ${dialog.type()} dialog: ${dialog.message()}`, resource: '' });
    return dialog.dismiss().catch(() => {});
  });
}

/** The next dialog `page` opens (the test then accepts or dismisses it). */
export function nextDialog(page) {
  return new Promise((resolveDialog) => {
    if (!dialogWaiters.has(page)) dialogWaiters.set(page, []);
    dialogWaiters.get(page).push(resolveDialog);
  });
}

/**
 * Claims the problems of `page` that match `expected` ({text, resource} regexes, both must match)
 * and fails on any other problem of that page. Each expected entry must have happened at least
 * once unless it says `optional: true` (lookups whose timing depends on the editor).
 */
export function expectProblems(problems, page, expected = []) {
  const mine = problems.filter((p) => p.page === page);
  const matches = (p, e) => e.text.test(p.text) && (e.resource === undefined || e.resource.test(p.resource));
  for (const problem of mine) {
    if (expected.some((e) => matches(problem, e))) problem.claimed = true;
  }
  const unexpected = mine.filter((p) => !p.claimed).map(describeProblem);
  assert.deepEqual(unexpected, [], 'unexpected browser problems on this page');
  for (const e of expected.filter((e) => !e.optional)) {
    assert.ok(mine.some((p) => matches(p, e)), `expected a browser problem matching ${e.text} ${e.resource ?? ''}, saw: ${JSON.stringify(mine.map(describeProblem))}`);
  }
}

export const describeProblem = ({ kind, url, text, resource }) => ({ kind, url, text: text.slice(0, 500), resource });

/** Saves a full-page screenshot as artifacts/NN-name.png and returns its path. */
export async function screenshot(page, name) {
  const path = join(ARTIFACTS, `${name}.png`);
  await page.screenshot({ path, fullPage: false });
  return path;
}

/**
 * Counts canvas pixels with a clearly saturated color: series are drawn in the palette's colors,
 * while axes, grid lines and labels are gray, so an empty chart counts (almost) zero.
 */
export async function coloredPixelsPerCanvas(page) {
  return page.evaluate(() =>
    Array.from(document.querySelectorAll('canvas')).map((canvas) => {
      if (canvas.width === 0 || canvas.height === 0) return 0;
      const context = canvas.getContext('2d');
      if (!context) return 0;
      const { data } = context.getImageData(0, 0, canvas.width, canvas.height);
      let colored = 0;
      for (let i = 0; i < data.length; i += 4) {
        const [r, g, b, a] = [data[i], data[i + 1], data[i + 2], data[i + 3]];
        if (a > 100 && Math.max(r, g, b) - Math.min(r, g, b) > 60) colored += 1;
      }
      return colored;
    }),
  );
}

/** Writes a JSON artifact and returns its path. */
export function writeArtifact(name, value) {
  mkdirSync(ARTIFACTS, { recursive: true });
  const path = join(ARTIFACTS, name);
  writeFileSync(path, `${JSON.stringify(value, null, 2)}\n`);
  return path;
}

/**
 * What each Perses panel of the page shows: its title, an error (the panel's alert), "No data",
 * whether it still loads, and the most coloured pixels on one of its canvases (drawn series).
 */
export async function panelStates(page) {
  return page.evaluate(() =>
    Array.from(document.querySelectorAll('[data-testid="panel"]')).map((panel) => {
      const title = panel.querySelector('[id$="-title"]')?.textContent ?? '';
      const alert = panel.querySelector('.MuiAlert-standardError, .MuiAlert-colorError');
      const canvases = Array.from(panel.querySelectorAll('canvas')).map((canvas) => {
        const context = canvas.width && canvas.height ? canvas.getContext('2d') : null;
        if (!context) return 0;
        const { data } = context.getImageData(0, 0, canvas.width, canvas.height);
        let colored = 0;
        for (let i = 0; i < data.length; i += 4) {
          if (data[i + 3] > 100 && Math.max(data[i], data[i + 1], data[i + 2]) - Math.min(data[i], data[i + 1], data[i + 2]) > 60) colored += 1;
        }
        return colored;
      });
      const body = panel.querySelector('figure');
      return {
        title,
        error: alert ? alert.textContent : null,
        noData: /\bNo data\b/.test(body?.innerText ?? ''),
        loading: panel.querySelector('.MuiSkeleton-root, [aria-label="loading"], [aria-label="Loading..."]') !== null,
        coloredPixels: Math.max(0, ...canvases),
        canvases: canvases.length,
        text: (body?.innerText ?? '').trim().slice(0, 80),
      };
    }),
  );
}

/** A panel that shows its data: drawn series on a canvas, or (no canvas) text such as a table. */
export const panelDrawn = (state) =>
  state.error === null && !state.noData && !state.loading && (state.canvases > 0 ? state.coloredPixels > 20 : state.text !== '');

/**
 * Waits until every panel of the page has drawn its data or shows an error or "No data"; returns
 * the states either way (the caller asserts). Polls every 500 ms: reading pixels is not free.
 */
export async function waitForPanelsSettled(page, timeoutMs) {
  const deadline = Date.now() + timeoutMs;
  let states = [];
  while (Date.now() < deadline) {
    states = await panelStates(page);
    if (states.length > 0 && states.every((s) => panelDrawn(s) || s.error !== null || s.noData)) return states;
    await page.waitForTimeout(500);
  }
  return states;
}
