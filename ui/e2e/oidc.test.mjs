// Browser test of an OpenID Connect login (docs/user/authentication.md) against the fake provider of
// pharos-fakes run as its own process (`pharos-fakes idp`: discovery, rotating JWKS, authorization
// code with PKCE; its /authorize logs alice in without a form). Pharos is configured with it as
// `corp`, next to the native provider: the login page offers "Sign in with Corporate SSO" above the
// password form; the button goes through the provider and back to the page that was asked for,
// logged in as alice (created on this first login); "Log out" ends that session; a provider that
// refuses sends the browser to the login page with the server's message. No peers needed.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { after, before, describe, test } from 'node:test';
import { ADMIN, REPO_ROOT, describeProblem, expectProblems, launchBrowser, screenshot, startPharos } from './harness.mjs';

const FAKES_BIN = process.env.PHAROS_FAKES_BIN ?? join(REPO_ROOT, 'target/debug/pharos-fakes');
const CLIENT_ID = 'pharos';
const CLIENT_SECRET = 'client-secret-1';
const USER = 'alice';
const PROJECT = 'sso';
const DASHBOARD = 'notes';
const NOTE = 'Seen through the corporate login';

const dashboard = {
  kind: 'Dashboard',
  metadata: { name: DASHBOARD, project: PROJECT },
  spec: {
    display: { name: 'Notes' },
    duration: '1h',
    panels: { note: { kind: 'Panel', spec: { display: { name: 'Note' }, plugin: { kind: 'Markdown', spec: { text: NOTE } } } } },
    layouts: [{ kind: 'Grid', spec: { items: [{ x: 0, y: 0, width: 12, height: 6, content: { $ref: '#/spec/panels/note' } }] } }],
  },
};

/** Starts `pharos-fakes idp` for `user`; resolves with its issuer URL and a stop function. */
async function startFakeIdp(user) {
  if (!existsSync(FAKES_BIN)) {
    throw new Error(`${FAKES_BIN} does not exist: run \`cargo build -p pharos-fakes\` first (or set PHAROS_FAKES_BIN)`);
  }
  const child = spawn(FAKES_BIN, ['idp', '--client-id', CLIENT_ID, '--client-secret', CLIENT_SECRET, '--user', user], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const stderr = [];
  child.stderr.on('data', (d) => stderr.push(String(d)));
  const stop = () => {
    if (child.exitCode === null) child.kill('SIGTERM');
  };
  // Its first stdout line names the issuer; it is listening by then.
  const firstLine = new Promise((resolveLine, reject) => {
    const lines = createInterface({ input: child.stdout });
    lines.once('line', (line) => resolveLine(line));
    child.once('exit', (code) => reject(new Error(`pharos-fakes idp exited with ${code}: ${stderr.join('')}`)));
    setTimeout(() => reject(new Error(`pharos-fakes idp named no issuer in 10 s: ${stderr.join('')}`)), 10_000).unref();
  });
  try {
    const { issuer } = JSON.parse(await firstLine);
    assert.match(issuer, /^http:\/\/127\.0\.0\.1:\d+$/);
    return { issuer, stop };
  } catch (e) {
    stop();
    throw e;
  }
}

/** The YAML config naming the fake as the OIDC provider `corp`, next to the native one. */
const providerConfig = (issuer) => `security:
  providers:
    enable_native: true
    oidc:
      - slug_id: corp
        name: Corporate SSO
        issuer: ${issuer}
        client_id: ${CLIENT_ID}
        client_secret: ${CLIENT_SECRET}
`;

// A browser without a session asks for one first: the renewal is refused (no refresh token), and
// Chromium logs that refused call. The only console error these pages may have.
const NO_SESSION = { text: /status of 40[01]/, resource: /\/api\/auth\/refresh$/ };

/** What a call of the page itself answers (its cookies go along). */
const fromPage = (page, path, method = 'GET') =>
  page.evaluate(
    async ([p, m]) => {
      const response = await fetch(p, { method: m, credentials: 'same-origin' });
      return { status: response.status, text: await response.text() };
    },
    [path, method],
  );

describe('logins through an OpenID Connect provider', () => {
  let idp;
  let pharos;
  let browser;
  let problems;
  let newContext;
  const dashboardPath = `/projects/${PROJECT}/dashboards/${DASHBOARD}`;

  before(async () => {
    idp = await startFakeIdp(USER);
    pharos = await startPharos({ config: providerConfig(idp.issuer) });
    const project = await pharos.api('POST', '/api/v1/projects', { kind: 'Project', metadata: { name: PROJECT }, spec: {} });
    assert.equal(project.status, 200, project.text);
    const created = await pharos.api('POST', `/api/v1/projects/${PROJECT}/dashboards`, dashboard);
    assert.equal(created.status, 200, created.text);
    // Alice has no account yet; her first login creates it, and this binding lets her read the project.
    const binding = await pharos.api('POST', `/api/v1/projects/${PROJECT}/rolebindings`, {
      kind: 'RoleBinding',
      metadata: { name: `viewer-${USER}`, project: PROJECT },
      spec: { role: 'viewer', subjects: [{ kind: 'User', name: USER }] },
    });
    assert.equal(binding.status, 200, binding.text);
    ({ browser, problems, newContext } = await launchBrowser());
  });

  after(async () => {
    await browser?.close();
    await pharos?.stop();
    idp?.stop();
  });

  test('/api/config names the provider (and no secret of it)', async () => {
    const response = await fetch(`${pharos.base}/api/config`);
    assert.equal(response.status, 200);
    const text = await response.text();
    const { providers } = JSON.parse(text).security.authentication;
    assert.equal(providers.enable_native, true);
    assert.deepEqual(
      providers.oidc.map(({ slug_id: slug, name }) => ({ slug, name })),
      [{ slug: 'corp', name: 'Corporate SSO' }],
    );
    assert.ok(!text.includes(CLIENT_SECRET), 'the client secret is not published');
  });

  test('"Sign in with Corporate SSO" goes through the provider and back to the page asked for, as alice; "Log out" ends it', async () => {
    const context = await newContext();
    // Every top-level navigation, to see the way through the provider.
    const navigations = [];
    context.on('request', (request) => {
      if (request.isNavigationRequest()) navigations.push(request.url());
    });
    const page = await context.newPage();
    await page.goto(`${pharos.base}${dashboardPath}`);
    await page.waitForURL((url) => url.pathname === '/login');
    assert.equal(new URL(page.url()).searchParams.get('rd'), dashboardPath);
    const sso = page.getByRole('button', { name: 'Sign in with Corporate SSO', exact: true });
    await sso.waitFor();
    // The native provider is on too: its form is still there, below the button.
    await page.getByLabel('Username').waitFor();
    assert.equal(await page.getByLabel('Password').count(), 1);
    assert.equal(await page.getByRole('button', { name: 'Sign in', exact: true }).count(), 1);
    assert.equal(await page.getByTestId('login-provider-error').count(), 0);
    await screenshot(page, 'oidc-01-login-page');
    expectProblems(problems, page, [NO_SESSION]);

    const before = problems.filter((p) => p.page === page).length;
    await sso.click();
    await page.waitForURL(`${pharos.base}${dashboardPath}`);
    await page.getByTestId('dashboard-title').waitFor();
    await page.getByText(NOTE).waitFor();
    assert.equal(await page.getByTestId('user-menu').innerText(), USER);
    const me = await fromPage(page, '/api/v1/user/whoami');
    assert.equal(me.status, 200, me.text);
    assert.equal(JSON.parse(me.text).metadata.name, USER);
    const cookies = (await context.cookies(pharos.base)).map((c) => c.name);
    for (const name of ['jwtPayload', 'jwtSignature', 'jwtRefreshToken']) assert.ok(cookies.includes(name), `cookies after login: ${cookies}`);
    await screenshot(page, 'oidc-02-logged-in');
    // Not one console error on the way through the provider and on the dashboard.
    assert.deepEqual(problems.filter((p) => p.page === page).slice(before).map(describeProblem), []);

    // The way: Pharos' provider login, the provider's /authorize (authorization code with PKCE),
    // Pharos' callback with the code and the state, then the page.
    const [login, authorize, callback] = navigations.slice(-4).map((u) => new URL(u));
    assert.equal(login.origin + login.pathname, `${pharos.base}/api/auth/providers/oidc/corp/login`, JSON.stringify(navigations));
    assert.equal(login.searchParams.get('rd'), dashboardPath);
    assert.equal(authorize.origin + authorize.pathname, `${idp.issuer}/authorize`, JSON.stringify(navigations));
    assert.equal(authorize.searchParams.get('client_id'), CLIENT_ID);
    assert.equal(authorize.searchParams.get('code_challenge_method'), 'S256');
    assert.equal(authorize.searchParams.get('redirect_uri'), `${pharos.base}/api/auth/providers/oidc/corp/callback`);
    assert.equal(callback.origin + callback.pathname, `${pharos.base}/api/auth/providers/oidc/corp/callback`);
    assert.ok(callback.searchParams.get('code'), callback.href);
    assert.equal(callback.searchParams.get('state'), authorize.searchParams.get('state'));

    // Alice is a user of Pharos now, synced from the provider's claims.
    const account = await pharos.api('GET', `/api/v1/users/${USER}`);
    assert.equal(account.status, 200, account.text);
    assert.equal(account.json.metadata.name, USER);

    await page.getByTestId('user-menu').click();
    await page.getByRole('menuitem', { name: 'Log out' }).click();
    await page.waitForURL((url) => url.pathname === '/login');
    await page.getByRole('button', { name: 'Sign in with Corporate SSO', exact: true }).waitFor();
    assert.equal(await page.getByTestId('user-menu').count(), 0);
    assert.equal((await fromPage(page, '/api/v1/user/whoami')).status, 401);
    await screenshot(page, 'oidc-03-logged-out');
    // Logged out, the page's renewal is refused again, and so is the whoami asked above.
    expectProblems(problems, page, [NO_SESSION, { text: /status of 401/, resource: /\/api\/v1\/user\/whoami$/ }]);
    await context.close();
  });

  test('a provider that refuses the login sends the browser to the login page with the reason', async () => {
    const context = await newContext();
    const page = await context.newPage();
    // What the provider's redirect looks like when the user cancels there.
    await page.goto(`${pharos.base}/api/auth/providers/oidc/corp/callback?error=access_denied&error_description=cancelled`);
    await page.waitForURL((url) => url.pathname === '/login');
    const notice = page.getByTestId('login-provider-error');
    await notice.waitFor();
    const message = (await notice.innerText()).trim();
    assert.match(message, /Corporate SSO|corp/);
    assert.match(message, /access_denied/);
    assert.match(message, /cancelled/);
    assert.equal(new URL(page.url()).searchParams.get('error'), message);
    // Still a login page with both ways in, and no session.
    await page.getByRole('button', { name: 'Sign in with Corporate SSO', exact: true }).waitFor();
    await page.getByRole('button', { name: 'Sign in', exact: true }).waitFor();
    assert.deepEqual((await context.cookies(pharos.base)).map((c) => c.name).filter((n) => n.startsWith('jwt')), []);
    await screenshot(page, 'oidc-04-refused');

    // The native login still works from there.
    await page.getByLabel('Username').fill(ADMIN);
    await page.getByLabel('Password').fill(pharos.password);
    await page.getByRole('button', { name: 'Sign in', exact: true }).click();
    await page.waitForURL(`${pharos.base}/`);
    assert.equal(await page.getByTestId('user-menu').innerText(), ADMIN);
    expectProblems(problems, page);
    await context.close();
  });

  test('no browser problem went unclaimed', () => {
    const unclaimed = problems.filter((p) => !p.claimed).map(({ kind, url, text }) => ({ kind, url, text }));
    assert.deepEqual(unclaimed, []);
  });
});
