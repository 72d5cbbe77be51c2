// Browser tests of logging in and out (docs/user/authentication.md): the login page and its return
// to the page that was asked for, the session renewed when the access token is gone, "Log out",
// and a server started with `--auth disabled` (no login page, no user menu). No peers needed.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { ADMIN, expectProblems, launchBrowser, logIn, panelDrawn, screenshot, startPharos, waitForPanelsSettled } from './harness.mjs';

const PROJECT = 'auth';
const DASHBOARD = 'notes';
const TITLE = 'Notes';
const NOTE = 'Only for logged-in eyes';

const dashboard = {
  kind: 'Dashboard',
  metadata: { name: DASHBOARD, project: PROJECT },
  spec: {
    display: { name: TITLE },
    duration: '1h',
    panels: {
      first: { kind: 'Panel', spec: { display: { name: 'First' }, plugin: { kind: 'Markdown', spec: { text: NOTE } } } },
      second: { kind: 'Panel', spec: { display: { name: 'Second' }, plugin: { kind: 'Markdown', spec: { text: 'A **second** panel' } } } },
    },
    layouts: [
      {
        kind: 'Grid',
        spec: {
          items: [
            { x: 0, y: 0, width: 12, height: 6, content: { $ref: '#/spec/panels/first' } },
            { x: 12, y: 0, width: 12, height: 6, content: { $ref: '#/spec/panels/second' } },
          ],
        },
      },
    ],
  },
};

/** Creates the project and its dashboard through the API. */
async function seed(pharos) {
  const project = await pharos.api('POST', '/api/v1/projects', { kind: 'Project', metadata: { name: PROJECT }, spec: {} });
  assert.equal(project.status, 200, project.text);
  const created = await pharos.api('POST', `/api/v1/projects/${PROJECT}/dashboards`, dashboard);
  assert.equal(created.status, 200, created.text);
}

/** Waits until both panels of the dashboard drew their text; returns their states. */
async function assertPanelsDrawn(page) {
  const states = await waitForPanelsSettled(page, 30_000);
  assert.equal(states.length, 2, JSON.stringify(states));
  assert.ok(states.every(panelDrawn), JSON.stringify(states));
  assert.ok(states.some((s) => s.text.includes(NOTE)), JSON.stringify(states));
  return states;
}

/** The status of a call the page itself makes (its cookies go along). */
const statusFromPage = (page, path, method = 'GET') =>
  page.evaluate(async ([p, m]) => (await fetch(p, { method: m, credentials: 'same-origin' })).status, [path, method]);

// A browser without a session asks for one, and how the page learns that: the renewal fails (no
// refresh token), or a call is refused.
const NO_SESSION = { text: /status of 40[01]/, resource: /\/api\/auth\/refresh$/ };

describe('logins', () => {
  let pharos;
  let browser;
  let problems;
  let newContext;
  const dashboardPath = `/projects/${PROJECT}/dashboards/${DASHBOARD}?start=3h`;

  before(async () => {
    pharos = await startPharos();
    await seed(pharos);
    ({ browser, problems, newContext } = await launchBrowser());
  });

  after(async () => {
    await browser?.close();
    await pharos?.stop();
  });

  test('the server asks for logins: /api/config says so and the API refuses calls without a token', async () => {
    const config = await fetch(`${pharos.base}/api/config`);
    assert.equal(config.status, 200);
    assert.equal((await config.json()).security.enable_auth, true);
    const anonymous = await fetch(`${pharos.base}/api/v1/projects`);
    assert.equal(anonymous.status, 401, await anonymous.text());
    assert.equal((await pharos.api('GET', '/api/v1/projects')).status, 200, 'the harness logs in');
    const me = await pharos.api('GET', '/api/v1/user/whoami');
    assert.equal(me.status, 200, me.text);
    assert.equal(me.json.metadata.name, ADMIN);
  });

  test('a dashboard opened without a session goes to the login page, which returns to it', async () => {
    const context = await newContext();
    const page = await context.newPage();
    await page.goto(`${pharos.base}${dashboardPath}`);
    await page.waitForURL((url) => url.pathname === '/login');
    assert.equal(new URL(page.url()).searchParams.get('rd'), dashboardPath);
    assert.equal(await page.getByText(NOTE).count(), 0, 'nothing of the dashboard is shown');
    assert.equal(await page.getByTestId('user-menu').count(), 0);

    // A wrong password: the server's message, and still on the login page.
    const refused = await fetch(`${pharos.base}/api/auth/providers/native/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ login: ADMIN, password: `${pharos.password}-wrong` }),
    });
    assert.equal(refused.status, 400);
    const { message } = await refused.json();
    // The page shows the server's message verbatim, whatever its exact words.
    assert.match(message, /wrong login or password/);
    await page.getByLabel('Username').fill(ADMIN);
    await page.getByLabel('Password').fill(`${pharos.password}-wrong`);
    await page.getByRole('button', { name: 'Sign in', exact: true }).click();
    const notice = page.getByTestId('login-error');
    await notice.waitFor();
    assert.equal((await notice.innerText()).trim(), message);
    assert.equal(new URL(page.url()).pathname, '/login');
    const sessionCookies = async () => (await context.cookies(pharos.base)).map((c) => c.name).filter((n) => n.startsWith('jwt'));
    assert.deepEqual(await sessionCookies(), [], 'no session cookies after a refused login');
    await screenshot(page, 'auth-01-wrong-password');

    // The right one: back on the dashboard that was asked for, with its panels drawn.
    await page.getByLabel('Password').fill(pharos.password);
    await page.getByRole('button', { name: 'Sign in', exact: true }).click();
    await page.waitForURL(`${pharos.base}${dashboardPath}`);
    await page.getByTestId('dashboard-title').waitFor();
    await assertPanelsDrawn(page);
    assert.equal(await page.getByTestId('user-menu').innerText(), ADMIN);
    // The Perses time range came from the returned-to URL.
    await page.getByText('Last 3 hours', { exact: true }).waitFor();
    await screenshot(page, 'auth-02-returned-to-dashboard');
    expectProblems(problems, page, [NO_SESSION, { text: /status of 400/, resource: /\/api\/auth\/providers\/native\/login$/ }]);
    await context.close();
  });

  test('the login page returns only to paths of this site', async () => {
    const context = await newContext();
    const page = await context.newPage();
    await page.goto(`${pharos.base}/login?rd=${encodeURIComponent('//example.org/steal')}`);
    await page.getByLabel('Username').fill(ADMIN);
    await page.getByLabel('Password').fill(pharos.password);
    await page.getByRole('button', { name: 'Sign in', exact: true }).click();
    await page.waitForURL(`${pharos.base}/`);
    await page.getByRole('link', { name: PROJECT, exact: true }).waitFor();
    // Logged in now: another login page with an absolute URL as rd lands on the start page too,
    // while a path of the site is honoured.
    for (const [rd, landing] of [
      ['https://example.org/', '/'],
      ['/\\example.org', '/'],
      [`/projects/${PROJECT}`, `/projects/${PROJECT}`],
    ]) {
      await page.goto(`${pharos.base}/login?rd=${encodeURIComponent(rd)}`);
      await page.getByLabel('Username').fill(ADMIN);
      await page.getByLabel('Password').fill(pharos.password);
      await page.getByRole('button', { name: 'Sign in', exact: true }).click();
      await page.waitForURL((url) => url.origin === pharos.base && url.pathname !== '/login');
      assert.equal(new URL(page.url()).pathname, landing, `rd=${rd}`);
    }
    expectProblems(problems, page);
    await context.close();
  });

  test('a lost access token is renewed with the refresh token, on load and on a refused call', async () => {
    const context = await newContext();
    await logIn(context, pharos, problems);
    const renewals = [];
    context.on('request', (request) => {
      if (new URL(request.url()).pathname === '/api/auth/refresh') renewals.push(request.method());
    });
    const dropAccessToken = () => Promise.all(['jwtPayload', 'jwtSignature'].map((name) => context.clearCookies({ name })));

    // On load: no access token, so the page renews the session before asking who is logged in.
    await dropAccessToken();
    const page = await context.newPage();
    await page.goto(`${pharos.base}/`);
    await page.getByRole('link', { name: PROJECT, exact: true }).waitFor();
    assert.equal(await page.getByTestId('user-menu').innerText(), ADMIN);
    assert.deepEqual(renewals, ['POST']);
    assert.ok((await context.cookies(pharos.base)).some((c) => c.name === 'jwtSignature'), 'renewed cookies');

    // A call refused with 401 in the middle of a session: renewed once, sent again, shown.
    await dropAccessToken();
    await page.getByRole('link', { name: PROJECT, exact: true }).click();
    await page.getByRole('link', { name: DASHBOARD, exact: true }).waitFor();
    assert.equal(new URL(page.url()).pathname, `/projects/${PROJECT}`);
    // At least one more renewal (calls refused at the same time share one).
    assert.ok(renewals.length >= 2, JSON.stringify(renewals));
    await screenshot(page, 'auth-03-renewed');
    expectProblems(problems, page, [{ text: /status of 401/, resource: new RegExp(`/api/v1/projects/${PROJECT}`) }]);
    await context.close();
  });

  test('"Log out" ends the session: the login page, and the API refuses that browser', async () => {
    const context = await newContext();
    await logIn(context, pharos, problems);
    const page = await context.newPage();
    await page.goto(`${pharos.base}/projects/${PROJECT}`);
    await page.getByRole('link', { name: DASHBOARD, exact: true }).waitFor();
    assert.equal(await statusFromPage(page, '/api/v1/projects'), 200, 'logged in, the same call is answered');
    await page.getByTestId('user-menu').click();
    await page.getByRole('menuitem', { name: 'Log out' }).click();
    await page.waitForURL((url) => url.pathname === '/login');
    await page.getByRole('button', { name: 'Sign in', exact: true }).waitFor();
    assert.equal(await page.getByTestId('user-menu').count(), 0);
    assert.equal(await statusFromPage(page, '/api/v1/projects'), 401);
    assert.equal(await statusFromPage(page, '/api/auth/refresh', 'POST'), 400, 'the refresh token is gone or revoked');
    await screenshot(page, 'auth-04-logged-out');
    expectProblems(problems, page, [
      NO_SESSION,
      { text: /status of 401/, resource: /\/api\/v1\/projects$/ },
    ]);
    await context.close();
  });

  test('no browser problem went unclaimed', () => {
    const unclaimed = problems.filter((p) => !p.claimed).map(({ kind, url, text }) => ({ kind, url, text }));
    assert.deepEqual(unclaimed, []);
  });
});

describe('logins disabled (--auth disabled)', () => {
  let pharos;
  let browser;
  let context;
  let problems;

  before(async () => {
    pharos = await startPharos({ auth: 'disabled' });
    await seed(pharos);
    ({ browser, context, problems } = await launchBrowser());
  });

  after(async () => {
    await browser?.close();
    await pharos?.stop();
  });

  test('no login page and no user menu; the dashboard opens directly', async () => {
    const config = await (await fetch(`${pharos.base}/api/config`)).json();
    assert.equal(config.security.enable_auth, false);
    const anonymous = await fetch(`${pharos.base}/api/v1/projects`);
    assert.equal(anonymous.status, 200, await anonymous.text());
    const sessionCalls = [];
    context.on('request', (request) => {
      const path = new URL(request.url()).pathname;
      if (path.startsWith('/api/auth/') || path === '/api/v1/user/whoami') sessionCalls.push(path);
    });
    const page = await context.newPage();
    const path = `/projects/${PROJECT}/dashboards/${DASHBOARD}`;
    await page.goto(`${pharos.base}${path}`);
    await page.getByTestId('dashboard-title').waitFor();
    await assertPanelsDrawn(page);
    assert.equal(new URL(page.url()).pathname, path);
    await page.getByRole('link', { name: 'Projects', exact: true }).waitFor();
    assert.equal(await page.getByTestId('user-menu').count(), 0);
    assert.equal(await page.getByRole('button', { name: ADMIN }).count(), 0);
    await screenshot(page, 'auth-05-disabled');
    // The login page has nothing to do and passes on to where it would return.
    await page.goto(`${pharos.base}/login?rd=${encodeURIComponent(`/projects/${PROJECT}`)}`);
    await page.waitForURL(`${pharos.base}/projects/${PROJECT}`);
    await page.getByRole('link', { name: DASHBOARD, exact: true }).waitFor();
    assert.equal(await page.getByRole('button', { name: 'Sign in', exact: true }).count(), 0);
    assert.deepEqual(sessionCalls, []);
    expectProblems(problems, page);
    await page.close();
  });
});
