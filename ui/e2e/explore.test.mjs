// Browser tests of the sidebar navigation and the Explore page (docs/user/explore.md): the sidebar
// reaches Explore, the global datasources and the audit log, highlights where the user is,
// remembers being collapsed, and is drawn in both themes; on /explore the admin picks the `local`
// datasource, gets metric names completed, runs a query with Shift+Enter and sees a Perses chart
// with its legend and a table of the series; a bad query shows the server's own message; the
// address holds the whole view (a reload and a fresh tab open the same); a project's queries go
// through the project's proxy route; "Add to dashboard" appends a panel with the query to a stored
// dashboard and creates a new one; a project viewer (no read of all data) starts in their project
// with its datasource and may not add panels. No peers needed: the data is the simulator's.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { expectProblems, launchBrowser, logIn, screenshot, startPharos } from './harness.mjs';
import { waitForChartsWithData } from './flows.mjs';

const PROJECT = 'explore';
const DASHBOARD = 'ops';
const QUERY = 'sum by (namespace) (rate(container_cpu_usage_seconds_total[5m]))';
const NAMESPACES = ['ml-serving', 'ml-training', 'team-a', 'team-b'];
const BAD_QUERY = 'sum(rate(';
const VIEWER = 'viewer1';
const VIEWER_PASSWORD = 'viewer-password-1';

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

const dashboard = {
  kind: 'Dashboard',
  metadata: { name: DASHBOARD, project: PROJECT },
  spec: {
    display: { name: 'Operations' },
    duration: '1h',
    panels: { note: { kind: 'Panel', spec: { display: { name: 'Note' }, plugin: { kind: 'Markdown', spec: { text: 'hello' } } } } },
    layouts: [{ kind: 'Grid', spec: { items: [{ x: 0, y: 0, width: 12, height: 6, content: { $ref: '#/spec/panels/note' } }] } }],
  },
};

/** Replaces the editor's text with `text` (typed as one input, so brackets are not doubled). */
async function setQuery(page, text) {
  const editor = page.getByTestId('explore-editor').locator('.cm-content');
  await editor.click();
  await page.keyboard.press('Control+A');
  await page.keyboard.press('Delete');
  if (text) await page.keyboard.insertText(text);
}

const editorText = (page) => page.getByTestId('explore-editor').locator('.cm-content').innerText();

/** The legend's series names under the chart. */
async function legendNames(page) {
  return page.getByTestId('explore-graph').evaluate((graph) => graph.innerText);
}

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

describe('navigation and Explore', () => {
  let pharos;
  let browser;
  let context;
  let newContext;
  let problems;
  let proxyCalls;

  before(async () => {
    pharos = await startPharos({ demo: true });
    const project = await pharos.api('POST', '/api/v1/projects', { kind: 'Project', metadata: { name: PROJECT }, spec: {} });
    assert.equal(project.status, 200, project.text);
    const created = await pharos.api('POST', `/api/v1/projects/${PROJECT}/dashboards`, dashboard);
    assert.equal(created.status, 200, created.text);
    // A datasource of the project (its default), to the same store as the global `local`, and a
    // viewer of the project (who may not read all data through the plain global route).
    const local = await pharos.api('GET', '/api/v1/globaldatasources/local');
    assert.equal(local.status, 200, local.text);
    const own = await pharos.api('POST', `/api/v1/projects/${PROJECT}/datasources`, {
      kind: 'Datasource',
      metadata: { name: 'metrics', project: PROJECT },
      spec: { ...local.json.spec, default: true, display: { name: 'Project metrics' } },
    });
    assert.equal(own.status, 200, own.text);
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
    proxyCalls = [];
    context.on('request', (request) => {
      const url = new URL(request.url());
      if (url.pathname.startsWith('/proxy/')) proxyCalls.push(`${request.method()} ${url.pathname}`);
    });
    // The simulator writes its 6 h of history oldest first, then goes live: wait for the present
    // (a rate needs two samples in its window).
    const deadline = Date.now() + 240_000;
    for (;;) {
      const answer = await pharos.api('GET', `/api/v1/query?query=${encodeURIComponent(QUERY)}`);
      if ((answer.json?.data?.result?.length ?? 0) >= NAMESPACES.length) break;
      assert.ok(Date.now() < deadline, `the simulator wrote no recent data within 240 s: ${answer.text}`);
      await sleep(1000);
    }
  });

  after(async () => {
    await browser?.close();
    await pharos?.stop();
  });

  test('the sidebar reaches Explore, the global datasources and the audit log, in both themes', async () => {
    const page = await context.newPage();
    await page.goto(`${pharos.base}/`);
    const sidebar = page.getByRole('navigation', { name: 'Main navigation' });
    await sidebar.waitFor();
    // Home is the projects list for now, and says so by being the highlighted entry.
    assert.equal(await page.getByTestId('nav-home').getAttribute('aria-current'), 'page');
    const entries = await sidebar.getByRole('link').allInnerTexts();
    assert.deepEqual(
      entries.map((t) => t.trim()),
      ['Home', 'Projects', 'Templates', 'Import', 'Explore', 'Services', 'Assistant', 'Overview', 'Clusters', 'Alerts', 'GPUs', 'Global datasources', 'Audit log', 'Preferences'],
    );
    await screenshot(page, 'explore-01-sidebar-light');
    const lightBackground = await sidebar.evaluate((nav) => getComputedStyle(nav).backgroundColor);

    await sidebar.getByRole('link', { name: 'Explore' }).click();
    await page.waitForURL(/\/explore\?/);
    await page.getByRole('heading', { name: 'Explore' }).waitFor();
    assert.equal(await page.getByTestId('nav-explore').getAttribute('aria-current'), 'page');
    assert.equal(await page.getByTestId('nav-home').getAttribute('aria-current'), null);

    await sidebar.getByRole('link', { name: 'Global datasources' }).click();
    await page.waitForURL(`${pharos.base}/admin/datasources`);
    await page.getByRole('table', { name: 'Datasources' }).getByRole('row').filter({ hasText: 'Pharos (embedded)' }).waitFor();
    assert.equal(await page.getByTestId('nav-datasources').getAttribute('aria-current'), 'page');

    await sidebar.getByRole('link', { name: 'Audit log' }).click();
    await page.waitForURL(`${pharos.base}/audit`);
    await page.getByTestId('audit-row').first().waitFor();
    assert.equal(await page.getByTestId('nav-audit').getAttribute('aria-current'), 'page');

    // A dashboard belongs to Dashboards → Projects.
    await page.goto(`${pharos.base}/projects/${PROJECT}/dashboards/${DASHBOARD}`);
    await page.getByTestId('dashboard-title').waitFor();
    assert.equal(await page.getByTestId('nav-projects').getAttribute('aria-current'), 'page');

    // Collapsed: icons only, their names still the links' names; remembered across a reload.
    await page.getByTestId('sidebar-toggle').click();
    assert.equal(await page.getByTestId('sidebar').getAttribute('data-collapsed'), 'true');
    await page.reload();
    await page.getByTestId('dashboard-title').waitFor();
    assert.equal(await page.getByTestId('sidebar').getAttribute('data-collapsed'), 'true');
    assert.ok((await sidebar.boundingBox()).width < 80, 'the collapsed sidebar is narrow');
    await sidebar.getByRole('link', { name: 'Explore' }).waitFor();
    await screenshot(page, 'explore-02-sidebar-collapsed');
    await page.getByTestId('sidebar-toggle').click();
    assert.equal(await page.getByTestId('sidebar').getAttribute('data-collapsed'), 'false');

    // Dark theme: the sidebar follows it (a dark background), then back to light for the rest.
    await page.goto(`${pharos.base}/`);
    await sidebar.waitFor();
    await page.getByTestId('theme-toggle').click();
    await page.waitForFunction(() => getComputedStyle(document.documentElement).colorScheme === 'dark');
    const darkBackground = await sidebar.evaluate((nav) => getComputedStyle(nav).backgroundColor);
    assert.notEqual(darkBackground, lightBackground);
    const brightness = (rgb) => rgb.match(/\d+/g).slice(0, 3).map(Number).reduce((a, b) => a + b, 0) / 3;
    assert.ok(brightness(darkBackground) < 80, `dark sidebar background ${darkBackground}`);
    assert.ok(brightness(lightBackground) > 200, `light sidebar background ${lightBackground}`);
    await screenshot(page, 'explore-03-sidebar-dark');
    await page.getByTestId('theme-toggle').click();
    await page.waitForFunction(() => getComputedStyle(document.documentElement).colorScheme === 'light');
    expectProblems(problems, page);
    await page.close();
  });

  test('a query runs with Shift+Enter: completion, a chart with its legend, the table of series', async () => {
    const page = await context.newPage();
    await page.goto(`${pharos.base}/explore`);
    // A bare address gets the default datasource and the time range written into it.
    await page.waitForURL(/datasource=local/);
    assert.equal(new URL(page.url()).searchParams.get('start'), '1h');
    await page.getByText('Type a PromQL query above').waitFor();
    // Picked explicitly all the same, as a user does.
    await page.getByRole('combobox', { name: /^Datasource/ }).click();
    await page.getByRole('option', { name: /\(local\)/ }).click();
    await page.getByRole('listbox').waitFor({ state: 'detached' });

    // Metric names complete from the datasource (through the proxy, with the session).
    await setQuery(page, '');
    await page.keyboard.type('container_cpu_usage_sec');
    const completion = page.locator('.cm-tooltip-autocomplete');
    await completion.getByText('container_cpu_usage_seconds_total').first().waitFor({ timeout: 15_000 });
    await page.keyboard.press('Escape');
    assert.ok(
      proxyCalls.some((c) => c.includes('/proxy/globaldatasources/local/api/v1/label/__name__/values')),
      `completion lookups: ${JSON.stringify(proxyCalls)}`,
    );

    await setQuery(page, QUERY);
    await page.keyboard.press('Shift+Enter');
    await page.waitForURL((url) => url.searchParams.get('query') === QUERY);
    // Shift+Enter ran the query instead of adding a line.
    assert.equal((await editorText(page)).trim(), QUERY);
    const graph = page.getByTestId('explore-graph');
    await graph.getByTestId('panel').waitFor();
    await waitForChartsWithData(page, 1);
    for (const namespace of NAMESPACES) await graph.getByText(`namespace="${namespace}"`).first().waitFor();
    const legend = await legendNames(page);
    for (const namespace of NAMESPACES) assert.ok(legend.includes(namespace), `legend: ${legend}`);
    assert.ok(
      proxyCalls.some((c) => c === 'POST /proxy/globaldatasources/local/api/v1/query_range'),
      `queries: ${JSON.stringify(proxyCalls)}`,
    );
    await screenshot(page, 'explore-04-graph');

    await page.getByRole('tab', { name: 'Table' }).click();
    await page.waitForURL((url) => url.searchParams.get('view') === 'table');
    const rows = page.getByTestId('explore-row');
    await rows.first().waitFor();
    assert.equal(await rows.count(), NAMESPACES.length);
    const headers = (await page.getByRole('table', { name: 'Query result' }).getByRole('columnheader').allInnerTexts()).map((t) => t.trim());
    assert.deepEqual(headers, ['namespace', 'Value']);
    const cells = await rows.evaluateAll((trs) => trs.map((tr) => Array.from(tr.querySelectorAll('td')).map((td) => td.innerText.trim())));
    assert.deepEqual(cells.map(([namespace]) => namespace).sort(), NAMESPACES);
    for (const [, value] of cells) assert.ok(Number.isFinite(Number(value)) && Number(value) > 0, `value ${value}`);
    assert.ok(proxyCalls.some((c) => c === 'POST /proxy/globaldatasources/local/api/v1/query'), `queries: ${JSON.stringify(proxyCalls)}`);
    await screenshot(page, 'explore-05-table');

    // The address holds the whole view: a reload and a fresh tab show the same.
    const address = page.url();
    await page.reload();
    await page.getByTestId('explore-row').first().waitFor();
    assert.equal((await editorText(page)).trim(), QUERY);
    assert.equal(await page.getByRole('tab', { name: 'Table' }).getAttribute('aria-selected'), 'true');
    assert.equal(await page.getByTestId('explore-row').count(), NAMESPACES.length);
    const copy = await context.newPage();
    await copy.goto(address);
    await copy.getByTestId('explore-row').first().waitFor();
    assert.equal((await editorText(copy)).trim(), QUERY);
    assert.equal(await copy.getByRole('combobox', { name: /^Datasource/ }).innerText(), 'Pharos (embedded) (local)');
    assert.equal(new URL(copy.url()).search, new URL(address).search, 'the copy changed nothing in the address');
    expectProblems(problems, copy);
    await copy.close();

    // Back in the graph, a changed time range goes to the address as well.
    await page.getByRole('tab', { name: 'Graph' }).click();
    await waitForChartsWithData(page, 1);
    await page.getByText('Last 1 hour', { exact: true }).click();
    await page.getByRole('option', { name: 'Last 15 minutes' }).click();
    await page.waitForURL((url) => url.searchParams.get('start') === '15m');
    await waitForChartsWithData(page, 1);
    assert.equal(new URL(page.url()).searchParams.get('view'), null, 'graph is the default view');
    expectProblems(problems, page);
    await page.close();
  });

  test('a bad query shows the server\'s message under the editor', async () => {
    // What the server answers the chart's range query, through the same route.
    const now = Math.floor(Date.now() / 1000);
    const refused = await pharos.fetch('/proxy/globaldatasources/local/api/v1/query_range', {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ query: BAD_QUERY, start: String(now - 3600), end: String(now), step: '15' }).toString(),
    });
    const answer = { status: refused.status, json: await refused.json() };
    assert.equal(answer.status, 400, JSON.stringify(answer.json));
    assert.equal(answer.json.status, 'error');
    const page = await context.newPage();
    await page.goto(`${pharos.base}/explore?datasource=local&start=1h&query=${encodeURIComponent('vector(1)')}`);
    await waitForChartsWithData(page, 1);
    await setQuery(page, BAD_QUERY);
    await page.getByRole('button', { name: 'Run' }).click();
    const error = page.getByTestId('explore-error');
    await error.waitFor();
    assert.ok((await error.innerText()).includes(answer.json.error), `shown: ${await error.innerText()}; server: ${answer.json.error}`);
    // Shown once, not again inside an empty chart.
    assert.equal(await page.getByTestId('explore-graph').count(), 0);
    await screenshot(page, 'explore-06-error');
    // A good query clears it.
    await setQuery(page, 'vector(2)');
    await page.keyboard.press('Shift+Enter');
    await waitForChartsWithData(page, 1);
    assert.equal(await error.count(), 0);
    expectProblems(problems, page, [{ text: /status of 400/, resource: /\/proxy\/globaldatasources\/local\/api\/v1\/query_range/ }]);
    await page.close();
  });

  test('from a project, queries go through the project\'s proxy route', async () => {
    const page = await context.newPage();
    const before = proxyCalls.length;
    await page.goto(`${pharos.base}/explore?datasource=local&start=1h&query=${encodeURIComponent(QUERY)}`);
    await waitForChartsWithData(page, 1);
    await page.getByRole('combobox', { name: /^Project/ }).click();
    await page.getByRole('option', { name: PROJECT, exact: true }).click();
    await page.waitForURL((url) => url.searchParams.get('project') === PROJECT);
    await waitForChartsWithData(page, 1);
    // The same datasource and query, now seen from the project.
    assert.equal(new URL(page.url()).searchParams.get('datasource'), 'local');
    assert.equal((await editorText(page)).trim(), QUERY);
    const calls = proxyCalls.slice(before);
    assert.ok(calls.includes(`POST /proxy/projects/${PROJECT}/globaldatasources/local/api/v1/query_range`), JSON.stringify(calls));
    // The page and its chart in the dark theme too.
    await page.getByTestId('theme-toggle').click();
    await page.waitForFunction(() => getComputedStyle(document.documentElement).colorScheme === 'dark');
    await waitForChartsWithData(page, 1);
    await screenshot(page, 'explore-10-dark');
    await page.getByTestId('theme-toggle').click();
    await page.waitForFunction(() => getComputedStyle(document.documentElement).colorScheme === 'light');
    expectProblems(problems, page);
    await page.close();
  });

  test('"Add to dashboard" appends a panel with the query, or starts a new dashboard', async () => {
    const page = await context.newPage();
    await page.goto(`${pharos.base}/explore?datasource=local&start=1h&query=${encodeURIComponent(QUERY)}`);
    await waitForChartsWithData(page, 1);

    await page.getByTestId('add-to-dashboard').click();
    const dialog = page.getByRole('dialog', { name: 'Add to dashboard' });
    await dialog.waitFor();
    await dialog.getByRole('combobox', { name: /^Project/ }).click();
    await page.getByRole('option', { name: PROJECT, exact: true }).click();
    await dialog.getByRole('combobox', { name: /^Dashboard/ }).click();
    await page.getByRole('option', { name: DASHBOARD, exact: true }).click();
    await dialog.getByLabel('Panel title').fill('CPU by namespace');
    await screenshot(page, 'explore-07-add-to-dashboard');
    await dialog.getByRole('button', { name: 'Add panel' }).click();
    await dialog.getByTestId('add-to-dashboard-done').waitFor();

    const stored = await pharos.api('GET', `/api/v1/projects/${PROJECT}/dashboards/${DASHBOARD}`);
    assert.equal(stored.status, 200, stored.text);
    const panels = Object.entries(stored.json.spec.panels);
    assert.equal(panels.length, 2, JSON.stringify(stored.json.spec.panels));
    const [key, panel] = panels.find(([k]) => k !== 'note');
    assert.equal(panel.spec.display.name, 'CPU by namespace');
    assert.equal(panel.spec.plugin.kind, 'TimeSeriesChart');
    assert.deepEqual(panel.spec.queries[0].spec.plugin, {
      kind: 'PrometheusTimeSeriesQuery',
      spec: { query: QUERY, datasource: { kind: 'PrometheusDatasource', name: 'local' } },
    });
    const items = stored.json.spec.layouts[0].spec.items;
    const item = items.find((i) => i.content.$ref === `#/spec/panels/${key}`);
    assert.ok(item, JSON.stringify(items));
    assert.equal(item.y, 6, 'below the existing panel');

    // The link opens the dashboard with the new panel drawn.
    await dialog.getByRole('link', { name: 'Operations' }).click();
    await page.waitForURL(new RegExp(`/projects/${PROJECT}/dashboards/${DASHBOARD}`));
    await page.getByText('CPU by namespace').first().waitFor();
    await waitForChartsWithData(page, 1);
    await screenshot(page, 'explore-08-added-panel');

    // A new dashboard.
    await page.goBack();
    await waitForChartsWithData(page, 1);
    await page.getByTestId('add-to-dashboard').click();
    await dialog.waitFor();
    await dialog.getByRole('combobox', { name: /^Dashboard/ }).click();
    await page.getByRole('option', { name: 'New dashboard…' }).click();
    await dialog.getByLabel('New dashboard title').fill('CPU overview');
    await dialog.getByText('Saved as “cpu-overview”').waitFor();
    await dialog.getByRole('button', { name: 'Add panel' }).click();
    await dialog.getByTestId('add-to-dashboard-done').waitFor();
    const created = await pharos.api('GET', `/api/v1/projects/${PROJECT}/dashboards/cpu-overview`);
    assert.equal(created.status, 200, created.text);
    assert.equal(created.json.spec.display.name, 'CPU overview');
    const [only] = Object.values(created.json.spec.panels);
    assert.equal(only.spec.queries[0].spec.plugin.spec.query, QUERY);
    assert.equal(created.json.spec.layouts[0].spec.items.length, 1);
    await dialog.getByRole('button', { name: 'Close' }).click();
    expectProblems(problems, page);
    await page.close();
  });

  test('a project viewer starts in their project with its datasource and may not add panels', async () => {
    const viewerContext = await newContext();
    await logInAs(viewerContext, pharos, problems, VIEWER, VIEWER_PASSWORD);
    const calls = [];
    viewerContext.on('request', (request) => {
      const url = new URL(request.url());
      if (url.pathname.startsWith('/proxy/')) calls.push(`${request.method()} ${url.pathname}`);
    });
    const page = await viewerContext.newPage();
    await page.goto(`${pharos.base}/explore`);
    await page.waitForURL((url) => url.searchParams.get('project') === PROJECT && url.searchParams.get('datasource') === 'metrics');
    assert.equal(await page.getByRole('combobox', { name: /^Datasource/ }).innerText(), 'Project metrics (metrics)');
    // No unrestricted view for a viewer, and no audit log in the sidebar.
    await page.getByRole('combobox', { name: /^Project/ }).click();
    const options = (await page.getByRole('option').allInnerTexts()).map((t) => t.trim());
    assert.deepEqual(options, [PROJECT]);
    await page.keyboard.press('Escape');
    assert.equal(await page.getByTestId('nav-audit').count(), 0);
    await setQuery(page, QUERY);
    await page.keyboard.press('Shift+Enter');
    await waitForChartsWithData(page, 1);
    assert.ok(calls.includes(`POST /proxy/projects/${PROJECT}/datasources/metrics/api/v1/query_range`), JSON.stringify(calls));
    await screenshot(page, 'explore-09-viewer');
    await page.getByTestId('add-to-dashboard').click();
    const dialog = page.getByRole('dialog', { name: 'Add to dashboard' });
    await dialog.getByText('You may not edit dashboards in any project.').waitFor();
    assert.equal(await dialog.getByRole('button', { name: 'Add panel' }).isDisabled(), true);
    await dialog.getByRole('button', { name: 'Cancel' }).click();
    expectProblems(problems, page);
    await viewerContext.close();
  });
});
