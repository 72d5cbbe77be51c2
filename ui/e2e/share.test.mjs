// Browser tests of share links, the audit log and preferences (docs/user/authentication.md):
// the admin shares a dashboard, a browser without any login opens the link and sees the charts
// (data only through /proxy/shared/{token}), the admin revokes it and the link says so; a link
// limited to other networks and an expired link explain themselves; a viewer gets no Share
// button and no audit log; the audit page lists what the admin did; a theme preference follows
// the admin to a fresh browser. No peers needed: the panels query the embedded store (`local`).
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { ADMIN, expectProblems, launchBrowser, logIn, panelDrawn, screenshot, startPharos, waitForPanelsSettled } from './harness.mjs';
import { waitForChartsWithData } from './flows.mjs';

const PROJECT = 'sharing';
const DASHBOARD = 'vitals';
const TITLE = 'Vitals';
const VIEWER = 'viewer1';
const VIEWER_PASSWORD = 'viewer-password-1';

// Constant series need no data in the store, so the charts draw without the simulator. The
// variable picks the constant; the link must carry the value chosen in the address (2, not the
// default 3), and the server runs only these queries with that value.
const dashboard = {
  kind: 'Dashboard',
  metadata: { name: DASHBOARD, project: PROJECT },
  spec: {
    display: { name: TITLE },
    duration: '1h',
    variables: [
      {
        kind: 'ListVariable',
        spec: {
          name: 'level',
          display: { name: 'Level' },
          defaultValue: '3',
          allowMultiple: false,
          allowAllValue: false,
          plugin: { kind: 'StaticListVariable', spec: { values: ['2', '3'] } },
        },
      },
    ],
    panels: {
      level: timeSeriesPanel('Level', 'vector($level)'),
      doubled: timeSeriesPanel('Doubled', 'vector($level) * 2'),
    },
    layouts: [
      {
        kind: 'Grid',
        spec: {
          items: [
            { x: 0, y: 0, width: 12, height: 8, content: { $ref: '#/spec/panels/level' } },
            { x: 12, y: 0, width: 12, height: 8, content: { $ref: '#/spec/panels/doubled' } },
          ],
        },
      },
    ],
  },
};

function timeSeriesPanel(name, query) {
  return {
    kind: 'Panel',
    spec: {
      display: { name },
      plugin: { kind: 'TimeSeriesChart', spec: {} },
      queries: [
        {
          kind: 'TimeSeriesQuery',
          spec: { plugin: { kind: 'PrometheusTimeSeriesQuery', spec: { query } } },
        },
      ],
    },
  };
}

/** Requests of a context by path, to check where a page sent its calls. */
function recordRequests(context) {
  const seen = [];
  context.on('request', (request) => {
    const url = new URL(request.url());
    seen.push({ method: request.method(), path: url.pathname, query: url.searchParams.get('query') ?? request.postDataJSON?.call(request)?.query });
  });
  return seen;
}

/** Body colour brightness (sum of r, g, b). */
const brightness = async (page) => {
  const rgb = await page.evaluate(() => getComputedStyle(document.body).backgroundColor);
  return rgb.match(/\d+/g).slice(0, 3).reduce((s, v) => s + Number(v), 0);
};

/** Logs a context in as `login` through the login page. */
async function logInAs(context, pharos, problems, login, password) {
  const page = await context.newPage();
  await page.goto(`${pharos.base}/login?rd=%2F`);
  await page.getByLabel('Username').fill(login);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Sign in', exact: true }).click();
  await page.waitForURL(`${pharos.base}/`);
  assert.equal(await page.getByTestId('user-menu').innerText(), login);
  expectProblems(problems, page);
  await page.close();
}

describe('share links, audit log and preferences', () => {
  let pharos;
  let browser;
  let context;
  let problems;
  let newContext;
  let expiring;
  let expiringMadeAt;

  before(async () => {
    pharos = await startPharos();
    const project = await pharos.api('POST', '/api/v1/projects', { kind: 'Project', metadata: { name: PROJECT }, spec: {} });
    assert.equal(project.status, 200, project.text);
    const created = await pharos.api('POST', `/api/v1/projects/${PROJECT}/dashboards`, dashboard);
    assert.equal(created.status, 200, created.text);
    // The shortest link there is (60 s); checked near the end of the suite, once it expired.
    const short = await pharos.api('POST', `/api/v1/projects/${PROJECT}/dashboards/${DASHBOARD}/share`, { expires_in: 60 });
    assert.equal(short.status, 200, short.text);
    expiring = short.json.share_url;
    expiringMadeAt = Date.now();
    // A viewer of the project: may look, may not share.
    const user = await pharos.api('POST', '/api/v1/users', { kind: 'User', metadata: { name: VIEWER }, spec: { nativeProvider: { password: VIEWER_PASSWORD } } });
    assert.equal(user.status, 200, user.text);
    const binding = await pharos.api('POST', `/api/v1/projects/${PROJECT}/rolebindings`, {
      kind: 'RoleBinding',
      metadata: { name: 'viewer1-viewer' },
      spec: { role: 'viewer', subjects: [{ kind: 'User', name: VIEWER }] },
    });
    assert.equal(binding.status, 200, binding.text);
    ({ browser, context, problems, newContext } = await launchBrowser());
    await logIn(context, pharos, problems);
  });

  after(async () => {
    await browser?.close();
    await pharos?.stop();
  });

  test('share a dashboard, open the link without a login, revoke it', async () => {
    await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: pharos.base });
    const page = await context.newPage();
    await page.goto(`${pharos.base}/projects/${PROJECT}/dashboards/${DASHBOARD}?start=30m&var-level=2`);
    await page.getByTestId('dashboard-title').waitFor();
    await waitForChartsWithData(page, 2);

    // Share: 7 days, the view as it is (level 2, the last 30 minutes).
    await page.getByTestId('share-button').click();
    const dialog = page.getByRole('dialog', { name: 'Share this dashboard' });
    await dialog.waitFor();
    // The short link made through the API is listed already.
    await dialog.getByTestId('share-link-row').first().waitFor();
    assert.equal(await dialog.getByTestId('share-link-row').count(), 1);
    await dialog.getByRole('combobox', { name: 'Expires after' }).click();
    await page.getByRole('option', { name: '7 days' }).click();
    const posted = page.waitForRequest((r) => r.method() === 'POST' && r.url().endsWith(`/dashboards/${DASHBOARD}/share`));
    await dialog.getByRole('button', { name: 'Create link' }).click();
    const body = (await posted).postDataJSON();
    assert.deepEqual(body, { expires_in: 604800, ip_restrictions: [], variables: { level: '2' }, time_range: { pastDuration: '30m' } });
    const urlField = dialog.getByTestId('share-url');
    await urlField.waitFor();
    const link = await urlField.inputValue();
    assert.match(link, new RegExp(`^${pharos.base}/shared/phs_[A-Za-z0-9_-]+$`));
    await dialog.getByRole('button', { name: 'Copy link' }).click();
    await dialog.getByTestId('share-copied').waitFor();
    const copied = await page.evaluate(() => navigator.clipboard.readText());
    assert.equal(copied, link);
    const row = dialog.getByTestId('share-link-row');
    await row.first().waitFor();
    assert.equal(await row.count(), 2, 'the new link and the short one made through the API');
    const newest = row.first();
    assert.match(await newest.innerText(), new RegExp(`^${ADMIN}\\b`));
    assert.match(await newest.innerText(), /never/);
    assert.match(await newest.innerText(), /level = 2/);
    await screenshot(page, 'share-01-dialog');
    await dialog.getByRole('button', { name: 'Close' }).click();

    // A browser with no session at all opens the link.
    const anonymous = await newContext();
    const requests = recordRequests(anonymous);
    const viewer = await anonymous.newPage();
    await viewer.goto(copied);
    await viewer.getByTestId('dashboard-title').waitFor();
    const states = await waitForPanelsSettled(viewer, 30_000);
    assert.equal(states.length, 2, JSON.stringify(states));
    assert.ok(states.every(panelDrawn), JSON.stringify(states));
    assert.equal(await viewer.getByTestId('dashboard-title').innerText(), TITLE);
    assert.ok(new URL(viewer.url()).pathname.startsWith('/shared/phs_'), `no login page: ${viewer.url()}`);
    await viewer.getByText('Last 30 minutes', { exact: true }).waitFor();
    assert.equal(await viewer.getByRole('button', { name: 'Edit', exact: true }).count(), 0, 'no Edit button');
    assert.equal(await viewer.getByRole('button', { name: 'Save', exact: true }).count(), 0);
    assert.equal(await viewer.getByTestId('user-menu').count(), 0);
    assert.equal((await anonymous.cookies(pharos.base)).filter((c) => c.name.startsWith('jwt')).length, 0);
    const token = new URL(copied).pathname.split('/').pop();
    const proxied = requests.filter((r) => r.path.startsWith('/proxy/'));
    assert.ok(proxied.length >= 2, JSON.stringify(requests));
    for (const r of proxied) assert.match(r.path, new RegExp(`^/proxy/shared/${token}/api/v1/query(_range)?$`), JSON.stringify(r));
    assert.ok(proxied.some((r) => r.query === 'vector(2)'), `the shared value is used: ${JSON.stringify(proxied)}`);
    assert.ok(!proxied.some((r) => (r.query ?? '').includes('3')), JSON.stringify(proxied));
    const apiCalls = requests.filter((r) => r.path.startsWith('/api/')).map((r) => r.path);
    assert.deepEqual([...new Set(apiCalls)].sort(), ['/api/config', `/api/v1/shared/${token}`], 'no other API call');
    await screenshot(viewer, 'share-02-shared-view');
    expectProblems(problems, viewer);

    // The link runs only the dashboard's queries.
    const other = await fetch(`${pharos.base}/proxy/shared/${token}/api/v1/query?query=${encodeURIComponent('vector(3)')}`);
    assert.equal(other.status, 403, await other.text());

    // Revoke in the first browser; the list now says when it was used.
    await page.getByTestId('share-button').click();
    await dialog.waitFor();
    await row.first().waitFor();
    assert.doesNotMatch(await row.first().innerText(), /never/, 'the link was used');
    await row.first().getByRole('button', { name: 'Revoke' }).click();
    await row.first().getByText('revoked').waitFor();
    await screenshot(page, 'share-03-revoked');
    expectProblems(problems, page);
    await page.close();

    await viewer.reload();
    const refused = viewer.getByTestId('shared-error');
    await refused.waitFor();
    assert.match(await refused.innerText(), /not found or revoked/);
    assert.ok(new URL(viewer.url()).pathname.startsWith('/shared/'), viewer.url());
    await screenshot(viewer, 'share-04-revoked-link');
    expectProblems(problems, viewer, [{ text: /status of 404/, resource: /\/api\/v1\/shared\// }]);
    await anonymous.close();
  });

  test('a link limited to other networks says so', async () => {
    const made = await pharos.api('POST', `/api/v1/projects/${PROJECT}/dashboards/${DASHBOARD}/share`, { expires_in: 3600, ip_restrictions: ['10.0.0.0/8'] });
    assert.equal(made.status, 200, made.text);
    const anonymous = await newContext();
    const page = await anonymous.newPage();
    await page.goto(made.json.share_url);
    const refused = page.getByTestId('shared-error');
    await refused.waitFor();
    assert.match(await refused.innerText(), /not usable from here/);
    assert.match(await refused.innerText(), /network address/);
    assert.equal(await page.getByTestId('dashboard-title').count(), 0);
    expectProblems(problems, page, [{ text: /status of 403/, resource: /\/api\/v1\/shared\// }]);
    await anonymous.close();
  });

  test('a viewer gets no Share button and no audit log', async () => {
    const viewerContext = await newContext();
    await logInAs(viewerContext, pharos, problems, VIEWER, VIEWER_PASSWORD);
    const page = await viewerContext.newPage();
    const permissions = page.waitForResponse((r) => r.url().endsWith(`/api/v1/users/${VIEWER}/permissions`));
    await page.goto(`${pharos.base}/projects/${PROJECT}/dashboards/${DASHBOARD}`);
    await page.getByTestId('dashboard-title').waitFor();
    // The toolbar is drawn and the permissions have arrived: still no Share button.
    await page.getByRole('button', { name: 'Edit', exact: true }).waitFor();
    assert.equal((await permissions).status(), 200);
    await page.waitForTimeout(300);
    assert.equal(await page.getByTestId('share-button').count(), 0);
    await page.getByTestId('user-menu').click();
    await page.getByRole('menuitem', { name: 'Preferences' }).waitFor();
    assert.equal(await page.getByRole('menuitem', { name: 'Audit log' }).count(), 0);
    await page.keyboard.press('Escape');
    // And the server agrees.
    const status = await page.evaluate(async () => (await fetch('/api/v1/audit/logs', { credentials: 'same-origin' })).status);
    assert.equal(status, 403);
    expectProblems(problems, page, [
      { text: /status of 403/, resource: /\/api\/v1\/audit\/logs/ },
      // Project roles grant no read of global datasources, so a viewer's panels cannot look up
      // the default (global) datasource: reported as a server contract gap, not worked around.
      { text: /status of 403/, resource: /\/api\/v1\/globaldatasources/, optional: true },
      { text: /may not read GlobalDatasource/, optional: true },
    ]);
    await viewerContext.close();
  });

  test('the audit page lists the dashboard and the share link the admin made, newest first', async () => {
    // More than a page (50) of newer entries, so the older ones need "Load more".
    for (let i = 0; i < 55; i++) {
      const put = await pharos.api('PUT', '/api/v1/preferences', { timezone: 'browser', theme: 'system', refresh_interval: '', time_range: '1h', home_dashboard: null, favourites: [] });
      assert.equal(put.status, 200, put.text);
    }
    const page = await context.newPage();
    await page.goto(`${pharos.base}/`);
    const firstPage = page.waitForResponse((r) => r.url().includes('/api/v1/audit/logs?'));
    await page.getByTestId('user-menu').click();
    await page.getByRole('menuitem', { name: 'Audit log' }).click();
    await page.waitForURL(`${pharos.base}/audit`);
    const { nextCursor } = await (await firstPage).json();
    assert.ok(nextCursor !== null && nextCursor !== undefined, 'a next page');
    const rows = page.getByTestId('audit-row');
    await rows.first().waitFor();
    assert.equal(await rows.count(), 50);
    assert.match((await rows.first().innerText()).split('\t')[2], /^update$/, 'the newest: a preferences update');
    const secondPage = page.waitForResponse((r) => r.url().includes('/api/v1/audit/logs?') && r.url().includes('cursor='));
    await page.getByRole('button', { name: 'Load more' }).click();
    assert.equal(new URL((await secondPage).url()).searchParams.get('cursor'), String(nextCursor));
    await page.waitForFunction(() => document.querySelectorAll('[data-testid="audit-row"]').length > 50);
    const texts = await rows.allInnerTexts();
    const cells = (text) => text.split('\t').map((c) => c.trim());
    const find = (predicate) => texts.findIndex((t) => predicate(cells(t), t));
    const madeDashboard = find((c, t) => c[1] === ADMIN && c[2] === 'create' && c[3] === 'dashboards' && c[4] === PROJECT && c[5] === DASHBOARD && t.includes(`POST /api/v1/projects/${PROJECT}/dashboards`) && !t.includes('/share'));
    const madeLink = find((c, t) => c[1] === ADMIN && c[2] === 'create' && c[4] === PROJECT && t.includes(`/dashboards/${DASHBOARD}/share`));
    const usedLink = find((c) => c[2] === 'use' && c[3] === 'share');
    assert.ok(madeDashboard >= 0, `dashboard creation by ${ADMIN}: ${texts.join('\n')}`);
    assert.ok(madeLink >= 0, `share creation by ${ADMIN}: ${texts.join('\n')}`);
    assert.ok(usedLink >= 0, `a use of a link: ${texts.join('\n')}`);
    assert.ok(madeLink < madeDashboard, 'newest first');
    await screenshot(page, 'share-05-audit');

    // Filters: only the admin's creations in the project.
    await page.getByLabel('User').fill(ADMIN);
    await page.getByLabel('Action').fill('create');
    await page.getByLabel('Project').fill(PROJECT);
    const filtered = page.waitForResponse((r) => r.url().includes('/api/v1/audit/logs?') && r.url().includes('action=create'));
    await page.getByRole('button', { name: 'Filter' }).click();
    const answer = await filtered;
    assert.equal(answer.status(), 200);
    const query = new URL(answer.url()).searchParams;
    assert.equal(query.get('user'), ADMIN);
    assert.equal(query.get('project'), PROJECT);
    await page.waitForFunction(() => document.querySelectorAll('[data-testid="audit-row"]').length > 0);
    const kept = (await rows.allInnerTexts()).map(cells);
    assert.ok(kept.length >= 3, JSON.stringify(kept));
    for (const c of kept) {
      assert.equal(c[1], ADMIN, JSON.stringify(c));
      assert.equal(c[2], 'create', JSON.stringify(c));
      assert.equal(c[4], PROJECT, JSON.stringify(c));
    }
    // Fewer entries than a page: nothing more to load.
    assert.equal(await page.getByRole('button', { name: 'Load more' }).count(), 0);
    expectProblems(problems, page);
    await page.close();
  });

  test('an expired link says so', async () => {
    const wait = expiringMadeAt + 62_000 - Date.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    const anonymous = await newContext();
    const page = await anonymous.newPage();
    await page.goto(expiring);
    const refused = page.getByTestId('shared-error');
    await refused.waitFor();
    assert.match(await refused.innerText(), /expired/);
    expectProblems(problems, page, [{ text: /status of 410/, resource: /\/api\/v1\/shared\// }]);
    await anonymous.close();
  });

  test('a theme preference follows the user to a fresh browser', async () => {
    const page = await context.newPage();
    await page.goto(`${pharos.base}/`);
    await page.getByTestId('user-menu').click();
    await page.getByRole('menuitem', { name: 'Preferences' }).click();
    await page.waitForURL(`${pharos.base}/preferences`);
    const light = await brightness(page);
    await page.getByRole('combobox', { name: 'Theme' }).click();
    await page.getByRole('option', { name: 'Dark' }).click();
    const saved = page.waitForResponse((r) => r.request().method() === 'PUT' && r.url().endsWith('/api/v1/preferences'));
    await page.getByRole('button', { name: 'Save' }).click();
    assert.equal((await saved).status(), 200);
    await page.getByTestId('preferences-saved').waitFor();
    await page.waitForFunction((before) => {
      const rgb = getComputedStyle(document.body).backgroundColor.match(/\d+/g).slice(0, 3).reduce((s, v) => s + Number(v), 0);
      return rgb < before;
    }, light);
    const stored = await pharos.api('GET', '/api/v1/preferences');
    assert.equal(stored.json.theme, 'dark', stored.text);
    expectProblems(problems, page);
    await page.close();

    // A new browser (no local storage, light system setting) logs in: dark.
    const fresh = await newContext();
    await logIn(fresh, pharos, problems);
    const other = await fresh.newPage();
    await other.goto(`${pharos.base}/projects/${PROJECT}`);
    await other.getByRole('link', { name: DASHBOARD, exact: true }).waitFor();
    await other.waitForFunction((before) => {
      const rgb = getComputedStyle(document.body).backgroundColor.match(/\d+/g).slice(0, 3).reduce((s, v) => s + Number(v), 0);
      return rgb < before;
    }, light);
    assert.ok((await brightness(other)) < light);
    await screenshot(other, 'share-06-dark-preference');
    expectProblems(problems, other);
    await fresh.close();
  });

  test('no browser problem went unclaimed', () => {
    const unclaimed = problems.filter((p) => !p.claimed).map(({ kind, url, text }) => ({ kind, url, text }));
    assert.deepEqual(unclaimed, []);
  });
});
