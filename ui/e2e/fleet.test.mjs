// The fleet's clusters page (docs/user/ui.md, "Clusters"): the empty state, registering a cluster
// that points at the peers' real Prometheus and watching it turn healthy without a reload,
// registering one that cannot be reached and watching it turn unreachable, its health history,
// and removing it. Everything through the page; the live updates come over the event stream. Then
// a chart on a `fleet` global datasource draws the clusters that answered and says, on the panel,
// which one did not.
import assert from 'node:assert/strict';
import net from 'node:net';
import { after, before, describe, test } from 'node:test';
import { expectProblems, launchBrowser, logIn, prometheusUrl, screenshot, startPharos } from './harness.mjs';

const prometheus = prometheusUrl();

/** A loopback port nothing listens on. */
async function closedPort() {
  const server = net.createServer();
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address();
  await new Promise((resolve) => server.close(resolve));
  return port;
}

describe('fleet clusters page', { skip: prometheus ? false : 'PHAROS_TEST_PROMETHEUS_URL is unset (start the peers)' }, () => {
  let pharos;
  let browser;
  let context;
  let problems;

  before(async () => {
    // Hubs checked every 2 s here, so a change shows within seconds.
    pharos = await startPharos({ config: 'fleet:\n  hub: {interval: 2s, timeout: 1s}\n' });
    ({ browser, context, problems } = await launchBrowser());
    await logIn(context, pharos, problems);
  });

  after(async () => {
    await browser?.close();
    await pharos?.stop();
  });

  const register = async (page, name, url) => {
    await page.getByTestId('cluster-register').click();
    await page.getByTestId('cluster-name').fill(name);
    await page.getByRole('dialog').getByRole('combobox', { name: 'Type' }).click();
    await page.getByRole('option', { name: 'Hub' }).click();
    await page.getByTestId('cluster-url').fill(url);
    await page.getByTestId('cluster-register-submit').click();
  };
  const row = (page, name) => page.locator(`[data-testid="cluster-row"][data-cluster="${name}"]`);
  const stateOf = (page, name) => row(page, name).getByTestId('cluster-state').getAttribute('data-state');

  test('register, see health change live, read the history, remove', async () => {
    const page = await context.newPage();
    await page.goto(`${pharos.base}/fleet/clusters`);
    await page.getByTestId('fleet-empty').waitFor();
    await page.getByTestId('nav-clusters').waitFor();
    assert.equal(await page.getByTestId('nav-clusters').getAttribute('aria-current'), 'page');
    await page.evaluate(() => {
      window.pharosFleetTestMarker = 'same page';
    });

    await register(page, 'east', prometheus);
    await row(page, 'east').waitFor();
    // Discovery and the first check run right after registering; the page hears of them.
    await page.waitForFunction(
      () => document.querySelector('[data-cluster="east"] [data-testid="cluster-state"]')?.getAttribute('data-state') === 'healthy',
      undefined,
      { timeout: 30_000 },
    );
    await page.waitForFunction(() => /Prometheus \d/.test(document.querySelector('[data-cluster="east"] [data-testid="cluster-capabilities"]')?.textContent ?? ''), undefined, { timeout: 30_000 });
    assert.equal(await page.getByTestId('fleet-live').getAttribute('data-state'), 'live');

    await register(page, 'dead', `http://127.0.0.1:${await closedPort()}`);
    await row(page, 'dead').waitFor();
    await page.waitForFunction(
      () => document.querySelector('[data-cluster="dead"] [data-testid="cluster-state"]')?.getAttribute('data-state') === 'unreachable',
      undefined,
      { timeout: 30_000 },
    );
    assert.equal(await stateOf(page, 'east'), 'healthy');
    await page.getByTestId('fleet-count-unreachable').getByText('1 unreachable').waitFor();
    assert.equal(await page.evaluate(() => window.pharosFleetTestMarker), 'same page', 'no reload');
    await screenshot(page, 'fleet-01-clusters');

    // The detail drawer: addressable (?cluster=dead), with the history and its reasons.
    await row(page, 'dead').getByTestId('cluster-history-toggle').click();
    const history = page.getByTestId('cluster-history');
    await history.waitFor();
    assert.match(await history.innerText(), /unknown[\s\S]*unreachable/);
    assert.equal(new URL(page.url()).searchParams.get('cluster'), 'dead');
    await page.getByTestId('cluster-detail').getByRole('button', { name: 'Close' }).click();
    await page.getByTestId('cluster-detail').waitFor({ state: 'detached' });

    // A bad registration says what to fix.
    await register(page, 'Bad Name', prometheus);
    await page.getByRole('dialog').getByTestId('error-notice').waitFor();
    assert.match(await page.getByRole('dialog').getByTestId('error-notice').innerText(), /name/i);
    await page.getByRole('dialog').getByRole('button', { name: 'Cancel' }).click();

    await page.getByRole('button', { name: 'Remove dead' }).click();
    await page.getByTestId('cluster-remove-confirm').click();
    await row(page, 'dead').waitFor({ state: 'detached' });
    const listed = await pharos.api('GET', '/api/v1/clusters');
    assert.deepEqual(listed.json.items.map((c) => c.name), ['east']);
    await screenshot(page, 'fleet-02-removed');
    expectProblems(problems, page, [{ text: /status of 400/, resource: /\/api\/v1\/clusters$/ }]);
    await page.close();
  });

  test('a chart on the fleet datasource draws what answered and says which cluster did not', async () => {
    // east (the peers' Prometheus) is registered by the test above; gone never answers.
    const gone = await pharos.api('POST', '/api/v1/clusters', { name: 'gone', type: 'hub', prometheus_url: `http://127.0.0.1:${await closedPort()}` });
    assert.equal(gone.status, 201, gone.text);
    const datasource = await pharos.api('POST', '/api/v1/globaldatasources', {
      kind: 'GlobalDatasource',
      metadata: { name: 'fleet' },
      spec: { default: false, plugin: { kind: 'PrometheusDatasource', spec: { directUrl: `${pharos.base}/api/v1/fleet/prometheus`, scrapeInterval: '15s' } } },
    });
    assert.equal(datasource.status, 200, datasource.text);
    const project = await pharos.api('POST', '/api/v1/projects', { kind: 'Project', metadata: { name: 'fleetview' }, spec: {} });
    assert.equal(project.status, 200, project.text);
    const panel = {
      kind: 'Panel',
      spec: {
        display: { name: 'Up per cluster' },
        plugin: { kind: 'TimeSeriesChart', spec: { legend: { position: 'bottom', mode: 'table', values: ['last-number'] } } },
        queries: [{ kind: 'TimeSeriesQuery', spec: { plugin: { kind: 'PrometheusTimeSeriesQuery', spec: { query: 'sum by (cluster) (up)', datasource: { kind: 'PrometheusDatasource', name: 'fleet' } } } } }],
      },
    };
    const dashboard = await pharos.api('POST', '/api/v1/projects/fleetview/dashboards', {
      kind: 'Dashboard',
      metadata: { name: 'fleet-up', project: 'fleetview' },
      spec: { display: { name: 'Fleet up' }, duration: '15m', variables: [], panels: { up: panel }, layouts: [{ kind: 'Grid', spec: { items: [{ x: 0, y: 0, width: 24, height: 10, content: { $ref: '#/spec/panels/up' } }] } }] },
    });
    assert.equal(dashboard.status, 200, dashboard.text);

    const page = await context.newPage();
    await page.goto(`${pharos.base}/projects/fleetview/dashboards/fleet-up?refresh=0s`);
    const marker = page.getByTestId('partial-marker');
    await marker.waitFor({ timeout: 60_000 });
    assert.match(await marker.innerText(), /Partial: cluster gone \((error|skipped)\) did not answer/);
    assert.match(await marker.getAttribute('aria-label'), /cluster gone: (error|skipped): /);
    // The clusters that answered are drawn: east in the legend.
    const legend = page.getByTestId('panel').locator('table');
    await legend.getByText('east').waitFor({ timeout: 30_000 });
    assert.doesNotMatch(await legend.innerText(), /gone/);
    await screenshot(page, 'fleet-03-partial-panel');
    expectProblems(problems, page, []);
    await page.close();
  });
});
