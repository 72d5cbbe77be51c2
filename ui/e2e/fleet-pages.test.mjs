// The fleet pages (docs/user/fleet.md, "The fleet pages"), live, against real peers: the overview
// (cards, status grid, recent alerts) watching a cluster of the peers' Prometheus turn healthy and
// then unreachable without a reload; the clusters page's filters, edit and delete; the alerts page
// receiving Alertmanager webhooks (payload version 4) as they are posted; and the GPU page showing
// DCGM gauges that a second Pharos store received by remote-write, compared with the GPU API.
import assert from 'node:assert/strict';
import { randomInt } from 'node:crypto';
import net from 'node:net';
import { after, before, describe, test } from 'node:test';
import { expectProblems, launchBrowser, logIn, prometheusUrl, screenshot, startPharos } from './harness.mjs';
import { remoteWrite } from './remote-write.mjs';

const prometheus = prometheusUrl();

async function closedPort() {
  const server = net.createServer();
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address();
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** An Alertmanager webhook notification (version 4), as Alertmanager 0.25 sends it. */
function webhook(status, alert) {
  return {
    version: '4',
    groupKey: `{}:{alertname="${alert.labels.alertname}"}`,
    truncatedAlerts: 0,
    status,
    receiver: 'pharos',
    groupLabels: { alertname: alert.labels.alertname },
    commonLabels: alert.labels,
    commonAnnotations: alert.annotations,
    externalURL: 'http://127.0.0.1:19093',
    alerts: [{ status, generatorURL: 'http://127.0.0.1:19090/graph?g0.expr=app_queue_depth+%3E+10', ...alert }],
  };
}

const MODELS = ['NVIDIA H100 80GB HBM3', 'NVIDIA A100-SXM4-40GB'];

/** Two nodes of dcgm-exporter gauges with values drawn for this run. */
function dcgmSeries() {
  const gpus = [
    { host: 'gpu-node-1', gpu: 0, model: MODELS[0], totalMiB: 81_559 },
    { host: 'gpu-node-1', gpu: 1, model: MODELS[0], totalMiB: 81_559 },
    { host: 'gpu-node-2', gpu: 0, model: MODELS[1], totalMiB: 40_960 },
  ].map((g) => {
    const usedMiB = randomInt(1_000, g.totalMiB - 1_000);
    return {
      ...g,
      values: {
        DCGM_FI_DEV_GPU_UTIL: randomInt(5, 99),
        DCGM_FI_DEV_FB_USED: usedMiB,
        DCGM_FI_DEV_FB_FREE: g.totalMiB - usedMiB,
        DCGM_FI_DEV_GPU_TEMP: randomInt(35, 85),
        DCGM_FI_DEV_POWER_USAGE: randomInt(100_0, 700_0) / 10,
        DCGM_FI_DEV_XID_ERRORS: g.host === 'gpu-node-2' ? 79 : 0,
      },
    };
  });
  const timestampMs = Date.now();
  const series = gpus.flatMap((g) =>
    Object.entries(g.values).map(([name, value]) => ({
      labels: {
        __name__: name,
        Hostname: g.host,
        UUID: `GPU-${g.host}-${g.gpu}-e2e`,
        gpu: String(g.gpu),
        device: `nvidia${g.gpu}`,
        modelName: g.model,
        job: 'dcgm-exporter',
        instance: `${g.host}:9400`,
      },
      value,
      timestampMs,
    })),
  );
  return { gpus, series };
}

describe('fleet pages, live', { skip: prometheus ? false : 'PHAROS_TEST_PROMETHEUS_URL is unset (start the peers)' }, () => {
  let pharos;
  let gpuStore;
  let browser;
  let context;
  let problems;
  let newContext;

  before(async () => {
    // Hubs checked every 2 s, so status changes show within seconds.
    [pharos, gpuStore] = await Promise.all([
      startPharos({ config: 'fleet:\n  hub: {interval: 2s, timeout: 1s}\n' }),
      // A second Pharos as a GPU cluster: its embedded store takes the DCGM gauges by remote-write.
      startPharos({ auth: 'disabled' }),
    ]);
    ({ browser, context, problems, newContext } = await launchBrowser());
    await logIn(context, pharos, problems);
  });

  after(async () => {
    await browser?.close();
    await gpuStore?.stop();
    await pharos?.stop();
  });

  const tile = (page, name) => page.locator(`[data-testid="cluster-tile"][data-cluster="${name}"]`);
  /** Waits (the page's Content Security Policy allows no string predicates) for a tile's state. */
  const waitForTile = (page, name, state) =>
    page.waitForFunction(
      ([n, s]) => document.querySelector(`[data-testid="cluster-tile"][data-cluster="${n}"]`)?.getAttribute('data-state') === s,
      [name, state],
      { timeout: 30_000 },
    );

  test('the overview: cards, a status grid that changes live, the way to a cluster', async () => {
    const page = await context.newPage();
    await page.goto(`${pharos.base}/fleet`);
    await page.getByTestId('fleet-empty').waitFor();
    assert.equal(await page.getByTestId('nav-fleet').getAttribute('aria-current'), 'page');
    await page.getByTestId('fleet-empty').getByRole('link', { name: 'Register a cluster' }).waitFor();
    await page.getByTestId('recent-alerts-empty').waitFor();
    assert.equal(await page.getByTestId('card-clusters-value').innerText(), '0');
    await page.waitForFunction(() => document.querySelector('[data-testid="fleet-live"]')?.getAttribute('data-state') === 'live');
    await page.evaluate(() => {
      window.pharosOverviewMarker = 'same page';
    });

    // Registered elsewhere (the API): the tile appears and turns healthy without a reload.
    const created = await pharos.api('POST', '/api/v1/clusters', {
      name: 'east',
      type: 'hub',
      prometheus_url: prometheus,
      region: 'eu-west-1',
      labels: { env: 'prod' },
    });
    assert.equal(created.status, 201, created.text);
    await tile(page, 'east').waitFor();
    await waitForTile(page, 'east', 'healthy');
    await page.getByTestId('overview-count-healthy').getByText('1 healthy').waitFor();
    assert.equal(await page.getByTestId('card-clusters-value').innerText(), '1');
    assert.equal(await page.getByTestId('overview-type-hub').getAttribute('aria-label'), '1 hub');
    assert.equal(await page.getByTestId('overview-type-spoke').getAttribute('aria-label'), '0 spoke');
    assert.match(await tile(page, 'east').innerText(), /Hub/);
    await screenshot(page, 'fleet-pages-01-overview-healthy');

    // Its Prometheus moves to an address nothing answers: the tile turns red, live.
    const moved = await pharos.api('PUT', '/api/v1/clusters/east', {
      type: 'hub',
      prometheus_url: `http://127.0.0.1:${await closedPort()}`,
      region: 'eu-west-1',
      labels: { env: 'prod' },
    });
    assert.equal(moved.status, 200, moved.text);
    await waitForTile(page, 'east', 'unreachable');
    await page.getByTestId('overview-count-unreachable').getByText('1 unreachable').waitFor();
    assert.equal(await page.evaluate(() => window.pharosOverviewMarker), 'same page', 'no reload');
    await screenshot(page, 'fleet-pages-02-overview-unreachable');

    // A tile opens the cluster's detail: its history with the reasons.
    await tile(page, 'east').click();
    await page.waitForURL(/\/fleet\/clusters\?cluster=east$/);
    const detail = page.getByTestId('cluster-detail');
    await detail.waitFor();
    await detail.getByTestId('cluster-history-entry').first().waitFor();
    const history = await detail.getByTestId('cluster-history').innerText();
    assert.match(history, /healthy[\s\S]*unreachable/);
    const api = await pharos.api('GET', '/api/v1/clusters/east/status');
    assert.ok(history.includes(api.json.history[0].reason), `${history} should show ${api.json.history[0].reason}`);
    // Discovery ran again at the new address and found nothing there.
    assert.match(await detail.getByTestId('cluster-detail-capabilities').innerText(), /Prometheus: no/);
    await screenshot(page, 'fleet-pages-03-cluster-detail');

    // Back to the real Prometheus: the open drawer follows (capabilities, state, a new history entry).
    const back = await pharos.api('PUT', '/api/v1/clusters/east', { type: 'hub', prometheus_url: prometheus, region: 'eu-west-1', labels: { env: 'prod' } });
    assert.equal(back.status, 200, back.text);
    await detail.getByTestId('cluster-detail-capabilities').getByText(/Prometheus \d.*: yes/).waitFor({ timeout: 30_000 });
    await page.waitForFunction(
      () => document.querySelector('[data-testid="cluster-history-entry"]')?.textContent?.match(/unreachable.*healthy/) !== null,
      undefined,
      { timeout: 30_000 },
    );
    expectProblems(problems, page);
    await page.close();
  });

  test('clusters: filters in the address, edit, delete with a confirmation', async () => {
    const created = await pharos.api('POST', '/api/v1/clusters', {
      name: 'west',
      type: 'spoke',
      prometheus_url: prometheus,
      region: 'us-west-2',
      labels: { env: 'staging', team: 'ml' },
    });
    assert.equal(created.status, 201, created.text);
    const page = await context.newPage();
    await page.goto(`${pharos.base}/fleet/clusters`);
    const rows = page.getByTestId('cluster-row');
    await page.locator('[data-testid="cluster-row"][data-cluster="west"]').waitFor();
    assert.equal(await rows.count(), 2);

    await page.getByTestId('clusters-filter-text').fill('team=ml');
    await page.waitForFunction(() => document.querySelectorAll('[data-testid="cluster-row"]').length === 1);
    assert.equal(await rows.first().getAttribute('data-cluster'), 'west');
    assert.equal(new URL(page.url()).searchParams.get('q'), 'team=ml');
    await page.getByRole('button', { name: 'Clear filters' }).click();
    await page.getByRole('combobox', { name: 'Type' }).click();
    await page.getByRole('option', { name: 'Hub' }).click();
    await page.waitForFunction(() => document.querySelectorAll('[data-testid="cluster-row"]').length === 1);
    assert.equal(await rows.first().getAttribute('data-cluster'), 'east');
    // The address keeps the filter: a copied link opens the same view.
    await page.goto(page.url());
    await page.waitForFunction(() => document.querySelectorAll('[data-testid="cluster-row"]').length === 1);
    assert.equal(new URL(page.url()).searchParams.get('type'), 'hub');
    await page.getByRole('button', { name: 'Clear filters' }).click();
    await page.waitForFunction(() => document.querySelectorAll('[data-testid="cluster-row"]').length === 2);

    // Edit: a new region and labels, through the dialog (PUT).
    await page.getByRole('button', { name: 'Edit west' }).click();
    const dialog = page.getByRole('dialog');
    assert.equal(await dialog.getByTestId('cluster-name').isDisabled(), true);
    await dialog.getByTestId('cluster-region').fill('eu-north-1');
    await dialog.getByTestId('cluster-labels').fill('env=prod, team=ml');
    await dialog.getByTestId('cluster-register-submit').click();
    await dialog.waitFor({ state: 'detached' });
    await page.locator('[data-testid="cluster-row"][data-cluster="west"]').getByText('eu-north-1').waitFor();
    const saved = await pharos.api('GET', '/api/v1/clusters/west');
    assert.equal(saved.json.region, 'eu-north-1');
    assert.deepEqual(saved.json.labels, { env: 'prod', team: 'ml' });
    assert.equal(saved.json.type, 'spoke');
    await screenshot(page, 'fleet-pages-04-clusters-edited');

    // Delete asks first; Cancel keeps it.
    await page.getByRole('button', { name: 'Remove west' }).click();
    await page.getByRole('dialog', { name: 'Remove west?' }).getByRole('button', { name: 'Cancel' }).click();
    assert.equal((await pharos.api('GET', '/api/v1/clusters/west')).status, 200);
    await page.getByRole('button', { name: 'Remove west' }).click();
    await page.getByTestId('cluster-remove-confirm').click();
    await page.locator('[data-testid="cluster-row"][data-cluster="west"]').waitFor({ state: 'detached' });
    assert.equal((await pharos.api('GET', '/api/v1/clusters/west')).status, 404);
    expectProblems(problems, page);
    await page.close();
  });

  test('alerts: a posted webhook shows without a reload, its resolution updates the row', async () => {
    const page = await context.newPage();
    await page.goto(`${pharos.base}/fleet/alerts`);
    await page.getByTestId('alerts-empty').waitFor();
    assert.equal(await page.getByTestId('nav-fleet-alerts').getAttribute('aria-current'), 'page');
    await page.waitForFunction(() => document.querySelector('[data-testid="fleet-live"]')?.getAttribute('data-state') === 'live');
    await page.evaluate(() => {
      window.pharosAlertsMarker = 'same page';
    });

    const startsAt = new Date(Date.now() - 60_000).toISOString();
    const alert = {
      labels: { alertname: 'HighQueueDepth', namespace: 'ns-1', severity: 'warning', instance: 'worker-1' },
      annotations: { summary: 'queue depth above 10', description: 'ns-1 queue depth is 42' },
      startsAt,
      endsAt: '0001-01-01T00:00:00Z',
      fingerprint: 'd5a07efff2b258c3',
    };
    const fired = await pharos.api('POST', '/api/v1/alerts/webhook?cluster=east', webhook('firing', alert));
    assert.equal(fired.status, 200, fired.text);
    assert.equal(fired.json.fired, 1, fired.text);
    const row = page.locator('[data-testid="alert-row"][data-fingerprint="d5a07efff2b258c3"]');
    await row.waitFor({ timeout: 15_000 });
    assert.equal(await row.getAttribute('data-state'), 'firing');
    assert.equal(await row.getAttribute('data-fresh'), 'true', 'a new row is marked');
    assert.equal(await row.getAttribute('data-cluster'), 'east');
    assert.equal(await row.getByTestId('alert-summary').innerText(), 'queue depth above 10');
    assert.equal(await row.getByTestId('alert-severity').getAttribute('data-severity'), 'warning');
    assert.equal(await row.getByTestId('alert-ends').innerText(), '—');
    assert.notEqual(await row.getByTestId('alert-starts').innerText(), '—');
    await screenshot(page, 'fleet-pages-05-alert-firing');

    const endsAt = new Date().toISOString();
    const resolved = await pharos.api('POST', '/api/v1/alerts/webhook?cluster=east', webhook('resolved', { ...alert, endsAt }));
    assert.equal(resolved.status, 200, resolved.text);
    await page.waitForFunction(
      () => document.querySelector('[data-testid="alert-row"][data-fingerprint="d5a07efff2b258c3"]')?.getAttribute('data-state') === 'resolved',
      undefined,
      { timeout: 15_000 },
    );
    assert.notEqual(await row.getByTestId('alert-ends').innerText(), '—');
    assert.equal(await page.getByTestId('alert-row').count(), 1, 'the same row, updated');
    assert.equal(await page.evaluate(() => window.pharosAlertsMarker), 'same page', 'no reload');
    await screenshot(page, 'fleet-pages-06-alert-resolved');

    // A second alert, critical, firing; the filters live in the address.
    const critical = {
      labels: { alertname: 'GpuXidErrors', namespace: 'ml', severity: 'critical' },
      annotations: { summary: 'XID 79 on gpu-node-2' },
      startsAt: new Date().toISOString(),
      endsAt: '0001-01-01T00:00:00Z',
    };
    assert.equal((await pharos.api('POST', '/api/v1/alerts/webhook?cluster=east', webhook('firing', critical))).status, 200);
    await page.locator('[data-testid="alert-row"][data-alertname="GpuXidErrors"]').waitFor({ timeout: 15_000 });
    await page.getByRole('combobox', { name: 'State' }).click();
    await page.getByRole('option', { name: 'firing' }).click();
    await page.waitForFunction(() => document.querySelectorAll('[data-testid="alert-row"]').length === 1);
    assert.equal(await page.getByTestId('alert-row').getAttribute('data-alertname'), 'GpuXidErrors');
    await page.getByTestId('alerts-filter-namespace').fill('ns-1');
    await page.getByTestId('alerts-empty').waitFor();
    const url = new URL(page.url());
    assert.equal(url.searchParams.get('state'), 'firing');
    assert.equal(url.searchParams.get('namespace'), 'ns-1');
    await page.goto(`${pharos.base}/fleet/alerts?severity=warning&window=1h`);
    await page.locator('[data-testid="alert-row"][data-alertname="HighQueueDepth"]').waitFor();
    assert.equal(await page.getByTestId('alert-row').count(), 1);

    // The overview's recent alerts and its card follow.
    await page.goto(`${pharos.base}/fleet`);
    await page.locator('[data-testid="recent-alert"][data-alertname="GpuXidErrors"]').waitFor();
    assert.equal(await page.getByTestId('card-alerts-value').innerText(), '1');
    expectProblems(problems, page);
    await page.close();
  });

  test('GPUs: DCGM gauges of a real store, as the GPU API reports them, sortable and refreshed', async () => {
    const { gpus, series } = dcgmSeries();
    await remoteWrite(`${gpuStore.base}/api/v1/write`, series);
    const created = await pharos.api('POST', '/api/v1/clusters', { name: 'gpu-lab', type: 'hub', prometheus_url: gpuStore.base });
    assert.equal(created.status, 201, created.text);
    const refreshed = await pharos.api('POST', '/api/v1/clusters/gpu-lab/refresh');
    assert.equal(refreshed.json?.capabilities?.dcgm, true, refreshed.text);
    assert.equal(refreshed.json.capabilities.gpu_count, 3);

    const page = await context.newPage();
    await page.goto(`${pharos.base}/fleet/gpus`);
    await page.locator('[data-testid="gpu-node"]').first().waitFor({ timeout: 20_000 });
    const api = (await pharos.api('GET', '/api/v1/gpu/nodes?clusters=gpu-lab')).json;
    assert.equal(api.nodes.length, 2);
    // What was written, as the API sums it up.
    const node1 = api.nodes.find((n) => n.node === 'gpu-node-1');
    const written1 = gpus.filter((g) => g.host === 'gpu-node-1');
    assert.equal(node1.gpu_count, 2);
    assert.equal(node1.temperature_c, Math.max(...written1.map((g) => g.values.DCGM_FI_DEV_GPU_TEMP)));
    for (const n of api.nodes) {
      const ui = page.locator(`[data-testid="gpu-node"][data-cluster="gpu-lab"][data-node="${n.node}"]`);
      assert.equal(Number(await ui.getByTestId('gpu-node-count').innerText()), n.gpu_count);
      assert.equal(Number(await ui.getByTestId('gpu-node-util').getAttribute('data-value')), n.utilisation_pct);
      assert.equal(await ui.getByTestId('gpu-node-util').innerText(), `${n.utilisation_pct.toFixed(1)} %`);
      assert.equal(await ui.getByTestId('gpu-node-temp').innerText(), `${n.temperature_c.toFixed(0)} °C`);
      assert.equal(await ui.getByTestId('gpu-node-power').innerText(), `${n.power_w.toFixed(1)} W`);
      assert.equal(Number(await ui.getByTestId('gpu-node-xid').getAttribute('data-value')), n.xid_errors);
      assert.ok(n.memory_total_bytes > 0);
    }
    assert.equal(api.nodes.find((n) => n.node === 'gpu-node-2').xid_errors, 1);

    const summary = (await pharos.api('GET', '/api/v1/gpu/summary?clusters=gpu-lab')).json;
    assert.equal(await page.getByTestId('gpu-card').count(), summary.groups.length);
    for (const g of summary.groups) {
      const card = page.locator(`[data-testid="gpu-card"][data-cluster="${g.cluster}"][data-model="${g.gpu_model}"]`);
      assert.equal(Number(await card.getByTestId('gpu-card-gpus').getAttribute('data-value')), g.gpus);
    }
    assert.deepEqual(summary.groups.map((g) => g.gpu_model).sort(), [...MODELS].sort());
    await screenshot(page, 'fleet-pages-07-gpus');

    // Sorting: hottest first, then coolest first.
    await page.getByTestId('gpu-sort-temperature_c').click();
    const temps = async () => page.locator('[data-testid="gpu-node-temp"]').evaluateAll((cells) => cells.map((c) => Number(c.getAttribute('data-value'))));
    assert.deepEqual(await temps(), [...api.nodes.map((n) => n.temperature_c)].sort((a, b) => b - a));
    await page.getByTestId('gpu-sort-temperature_c').click();
    assert.deepEqual(await temps(), [...api.nodes.map((n) => n.temperature_c)].sort((a, b) => a - b));
    assert.equal(new URL(page.url()).searchParams.get('sort'), 'temperature_c');

    // New gauges arrive: the page shows them at its next read (every 15 s), without a reload.
    const next = dcgmSeries();
    await remoteWrite(`${gpuStore.base}/api/v1/write`, next.series);
    const expected = (await pharos.api('GET', '/api/v1/gpu/nodes?clusters=gpu-lab')).json.nodes.find((n) => n.node === 'gpu-node-2');
    await page.waitForFunction(
      (want) => Number(document.querySelector('[data-node="gpu-node-2"] [data-testid="gpu-node-power"]')?.getAttribute('data-value')) === want,
      expected.power_w,
      { timeout: 25_000 },
    );

    // The overview counts the GPUs discovery found.
    await page.goto(`${pharos.base}/fleet`);
    await page.getByTestId('card-gpus-value').getByText('3', { exact: true }).waitFor();
    const totals = (await pharos.api('GET', '/api/v1/gpu/summary')).json.totals;
    await page.getByTestId('card-gpus-detail').getByText(`avg utilisation ${totals.avg_utilisation_pct.toFixed(1)} % · 1 GPU with XID errors`).waitFor();
    await screenshot(page, 'fleet-pages-10-overview-gpus');
    expectProblems(problems, page);
    await page.close();
  });
  test('the event stream drops: Reconnecting…, then Live again with what happened meanwhile', async () => {
    const page = await context.newPage();
    // The first stream says hello and ends (a dropped connection); the next ones are refused
    // until `blocked` is lifted; then the real stream answers again.
    let streams = 0;
    let blocked = true;
    await page.route('**/api/v1/events*', async (route) => {
      streams += 1;
      if (streams === 1) {
        await route.fulfill({ status: 200, headers: { 'content-type': 'text/event-stream' }, body: 'event: hello\ndata: {"topics": []}\n\n' });
      } else if (blocked) {
        await route.abort('connectionreset');
      } else {
        await route.continue();
      }
    });
    await page.goto(`${pharos.base}/fleet`);
    await page.locator('[data-testid="cluster-grid"], [data-testid="fleet-empty"]').first().waitFor();
    await page.waitForFunction(() => document.querySelector('[data-testid="fleet-live"]')?.getAttribute('data-state') === 'reconnecting', undefined, {
      timeout: 15_000,
    });
    assert.match(await page.getByTestId('fleet-live').innerText(), /Reconnecting/);
    await screenshot(page, 'fleet-pages-08-reconnecting');

    // Registered while the page hears nothing: shown once the stream is back (a resync reload).
    const created = await pharos.api('POST', '/api/v1/clusters', { name: 'north', type: 'edge', prometheus_url: prometheus });
    assert.equal(created.status, 201, created.text);
    // At least one retry is refused before the stream may come back.
    for (let waited = 0; streams < 2 && waited < 15_000; waited += 100) await new Promise((r) => setTimeout(r, 100));
    assert.match(await page.getByTestId('fleet-live').innerText(), /Reconnecting/);
    blocked = false;
    await page.waitForFunction(() => document.querySelector('[data-testid="fleet-live"]')?.getAttribute('data-state') === 'live', undefined, {
      timeout: 30_000,
    });
    await tile(page, 'north').waitFor({ timeout: 10_000 });
    assert.ok(streams >= 3, `streams opened: ${streams}`);
    assert.equal((await pharos.api('DELETE', '/api/v1/clusters/north')).status, 204);
    await tile(page, 'north').waitFor({ state: 'detached' });
    // Each refused stream is a failed request in the console.
    expectProblems(problems, page, [{ text: /ERR_CONNECTION_RESET|net::ERR/, resource: /\/api\/v1\/events/, optional: true }]);
    await page.close();
  });

  test('a fleet viewer reads but cannot change; without the permission the pages say so', async () => {
    // The cluster the first test registered (registered here when this test runs alone).
    const east = await pharos.api('POST', '/api/v1/clusters', { name: 'east', type: 'hub', prometheus_url: prometheus });
    assert.ok([201, 409].includes(east.status), east.text);
    const password = 'fleet-viewer-pw-1';
    const user = await pharos.api('POST', '/api/v1/users', { kind: 'User', metadata: { name: 'fiona' }, spec: { nativeProvider: { password } } });
    assert.equal(user.status, 200, user.text);
    const viewer = await newContext();
    const page = await viewer.newPage();
    await page.goto(`${pharos.base}/login?rd=%2Ffleet`);
    await page.getByLabel('Username').fill('fiona');
    await page.getByLabel('Password').fill(password);
    await page.getByRole('button', { name: 'Sign in', exact: true }).click();
    await page.getByTestId('fleet-no-access').waitFor();
    assert.equal(await page.getByTestId('nav-fleet').count(), 0, 'no Fleet section without read on Cluster');

    const role = await pharos.api('POST', '/api/v1/globalroles', {
      kind: 'GlobalRole',
      metadata: { name: 'fleet-viewer' },
      spec: { permissions: [{ actions: ['read'], scopes: ['Cluster'] }] },
    });
    assert.equal(role.status, 200, role.text);
    const binding = await pharos.api('POST', '/api/v1/globalrolebindings', {
      kind: 'GlobalRoleBinding',
      metadata: { name: 'fiona-fleet' },
      spec: { role: 'fleet-viewer', subjects: [{ kind: 'User', name: 'fiona' }] },
    });
    assert.equal(binding.status, 200, binding.text);
    await page.goto(`${pharos.base}/fleet/clusters`);
    await page.locator('[data-testid="cluster-row"][data-cluster="east"]').waitFor();
    await page.getByTestId('nav-gpus').waitFor();
    assert.equal(await page.getByTestId('cluster-register').count(), 0);
    assert.equal(await page.getByRole('button', { name: 'Edit east' }).count(), 0);
    assert.equal(await page.getByRole('button', { name: 'Remove east' }).count(), 0);
    await page.getByRole('button', { name: 'Details of east' }).click();
    await page.getByTestId('cluster-detail').waitFor();
    assert.equal(await page.getByTestId('cluster-detail-edit').count(), 0);
    await page.waitForFunction(() => document.querySelector('[data-testid="fleet-live"]')?.getAttribute('data-state') === 'live');
    await page.emulateMedia({ colorScheme: 'dark' });
    await screenshot(page, 'fleet-pages-09-viewer-detail');
    expectProblems(problems, page);
    await viewer.close();
  });
});
