// Browser tests of live dashboards and stale data (docs/user/ui.md, "Live mode" and "Stale data").
// Two small Prometheus stand-ins run in this process: their answers change every 5 s (the value is
// the time in 5-second units), and the second one is stopped halfway, so Pharos answers from its
// last good copy with a "data from …" warning.
// (a) A dashboard opened with a refresh interval and a relative range is live: the toolbar says
//     "Live", one EventSource to …/stream is open with the range, interval and variable values,
//     the panel's legend moves on without a reload and without the page sending range queries,
//     and a changed variable reopens the stream with the new value.
// (b) The panel whose datasource went down shows the stale marker with "data from" and keeps its
//     chart, live and after a reload without live mode.
// (c) No console errors anywhere.
import assert from 'node:assert/strict';
import http from 'node:http';
import { after, before, describe, test } from 'node:test';
import { coloredPixelsPerCanvas, expectProblems, launchBrowser, logIn, screenshot, startPharos } from './harness.mjs';

const PROJECT = 'live';
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** The value the stand-ins answer for time `t` (seconds): it changes every 5 s. */
const valueAt = (t) => Math.floor(t / 5) % 1000;

/**
 * A Prometheus stand-in on a loopback port: range queries get one series per query with a point
 * per step; everything else an empty success. `stop()` closes it (connections are refused).
 */
async function startStandIn(name) {
  const requests = [];
  const server = http.createServer((request, response) => {
    let body = '';
    request.on('data', (chunk) => {
      body += chunk;
    });
    request.on('end', () => {
      const url = new URL(request.url, 'http://stand-in');
      const params = new URLSearchParams(url.search);
      for (const [key, value] of new URLSearchParams(body)) params.append(key, value);
      requests.push({ path: url.pathname, query: params.get('query') });
      const reply = (json) => {
        response.writeHead(200, { 'content-type': 'application/json' });
        response.end(JSON.stringify(json));
      };
      const job = /job="([^"]*)"/.exec(params.get('query') ?? '')?.[1] ?? name;
      const metric = { __name__: 'live_test_value', job };
      if (url.pathname.endsWith('/api/v1/query_range')) {
        const [start, end, step] = ['start', 'end', 'step'].map((k) => Number(params.get(k)));
        const values = [];
        for (let t = start; t <= end && values.length < 11_000; t += step) values.push([t, String(valueAt(t))]);
        return reply({ status: 'success', data: { resultType: 'matrix', result: [{ metric, values }] } });
      }
      if (url.pathname.endsWith('/api/v1/query')) {
        const t = Number(params.get('time') ?? Date.now() / 1000);
        return reply({ status: 'success', data: { resultType: 'vector', result: [{ metric, value: [t, String(valueAt(t))] }] } });
      }
      return reply({ status: 'success', data: [] });
    });
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address();
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    async stop() {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

/** A time-series panel (legend as a table with each series' last value). */
function chart(title, datasource, query, minStep) {
  return {
    kind: 'Panel',
    spec: {
      display: { name: title },
      plugin: { kind: 'TimeSeriesChart', spec: { legend: { position: 'bottom', mode: 'table', values: ['last-number'] } } },
      queries: [
        {
          kind: 'TimeSeriesQuery',
          spec: {
            plugin: {
              kind: 'PrometheusTimeSeriesQuery',
              spec: { query, datasource: { kind: 'PrometheusDatasource', name: datasource }, ...(minStep ? { minStep } : {}) },
            },
          },
        },
      ],
    },
  };
}

/** A dashboard of `panels` ({key: panel}), one per row. */
function dashboardOf(name, title, panels, { duration, variables = [] }) {
  const items = Object.keys(panels).map((key, i) => ({ x: 0, y: i * 8, width: 24, height: 8, content: { $ref: `#/spec/panels/${key}` } }));
  return {
    kind: 'Dashboard',
    metadata: { name, project: PROJECT },
    spec: { display: { name: title }, duration, variables, panels, layouts: [{ kind: 'Grid', spec: { items } }] },
  };
}

/** The legend text (series names and last values) of the panel titled `title`. */
const legendText = (page, title) =>
  page
    .getByTestId('panel')
    .filter({ has: page.locator(`[id$="-title"]:text-is("${title}")`) })
    .locator('table')
    .innerText()
    .catch(() => '');

/** Waits until `check()` is truthy; returns its value. */
async function eventually(check, timeoutMs, what) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > deadline) assert.fail(`${what} (after ${timeoutMs} ms)`);
    await sleep(250);
  }
}

const chartDrawn = async (page) => (await coloredPixelsPerCanvas(page)).some((n) => n > 20);

describe('live dashboards and stale data', () => {
  let pharos;
  let browser;
  let context;
  let problems;
  let steady;
  let flaky;
  /** What the browser sent: EventSource and range-query requests, with the page. */
  const sent = [];

  before(async () => {
    steady = await startStandIn('steady');
    flaky = await startStandIn('flaky');
    // Answers that reach "now" are reused 2 s (not 15 s), so an outage shows quickly.
    pharos = await startPharos({ config: 'query_layer:\n  recent_ttl: 2s\n' });
    const project = await pharos.api('POST', '/api/v1/projects', { kind: 'Project', metadata: { name: PROJECT }, spec: {} });
    assert.equal(project.status, 200, project.text);
    // `steady` says it is scraped every 15 s: the Perses plugin then asks for a 15 s step, as the
    // stream does for short ranges. `coarse` (same stand-in) says nothing: Perses assumes 1 m,
    // and its 1 m points are picked from the stream's 15 s ones.
    for (const [name, standIn, scrapeInterval] of [['steady', steady, '15s'], ['coarse', steady], ['flaky', flaky]]) {
      const datasource = await pharos.api('POST', `/api/v1/projects/${PROJECT}/datasources`, {
        kind: 'Datasource',
        metadata: { name, project: PROJECT },
        spec: {
          default: name === 'steady',
          plugin: {
            kind: 'PrometheusDatasource',
            spec: { proxy: { kind: 'HTTPProxy', spec: { url: standIn.url } }, ...(scrapeInterval ? { scrapeInterval } : {}) },
          },
        },
      });
      assert.equal(datasource.status, 200, datasource.text);
    }
    const job = { kind: 'TextVariable', spec: { name: 'job', value: 'steady', display: { name: 'job' } } };
    for (const dashboard of [
      dashboardOf(
        'moving',
        'Moving',
        { value: chart('Value', 'steady', 'live_test_value{job="$job"}'), coarse: chart('Coarse', 'coarse', 'live_test_value{job="coarse"}') },
        { duration: '15m', variables: [job] },
      ),
      // A week at a 15 m step: the stream's step for 7d, and Pharos keeps the last good answer
      // per step-aligned range, so it can stand in until the next quarter hour.
      dashboardOf('outage', 'Outage', { chart: chart('Flaky', 'flaky', 'live_test_value{job="flaky"}', '15m') }, { duration: '7d' }),
    ]) {
      const created = await pharos.api('POST', `/api/v1/projects/${PROJECT}/dashboards`, dashboard);
      assert.equal(created.status, 200, created.text);
    }
    ({ browser, context, problems } = await launchBrowser());
    await logIn(context, pharos, problems);
    context.on('request', (request) => {
      const url = new URL(request.url());
      if (url.pathname.endsWith('/stream') || url.pathname.endsWith('/api/v1/query_range')) {
        sent.push({ page: request.frame().page(), at: Date.now(), type: request.resourceType(), path: url.pathname, search: url.search });
      }
    });
  });

  after(async () => {
    await browser?.close();
    await pharos?.stop();
    await steady?.stop();
    await flaky?.stop().catch(() => {});
  });

  test('a dashboard with a refresh interval is live: pushed data redraws the panel without polling or reloading', async () => {
    const page = await context.newPage();
    await page.goto(`${pharos.base}/projects/${PROJECT}/dashboards/moving?start=15m&refresh=5s`);
    await page.getByTestId('dashboard-title').waitFor();
    const indicator = page.getByTestId('live-indicator');
    await indicator.waitFor();
    await eventually(async () => (await indicator.getAttribute('data-state')) === 'live', 15_000, 'the indicator says Live');
    assert.equal((await indicator.innerText()).trim(), 'Live');
    // One stream, with the dashboard's range, the interval and the variable's value.
    const streams = () => sent.filter((s) => s.page === page && s.path.endsWith('/stream'));
    assert.equal(streams().length, 1, JSON.stringify(streams().map((s) => s.search)));
    const params = new URLSearchParams(streams()[0].search);
    assert.equal(streams()[0].path, `/api/v1/projects/${PROJECT}/dashboards/moving/stream`);
    assert.equal(streams()[0].type, 'eventsource');
    assert.deepEqual([params.get('range'), params.get('refresh'), params.getAll('var-job')], ['15m', '5s', ['steady']]);
    // The picker still shows the chosen interval (Perses' own timer is off, not the setting).
    assert.match(page.url(), /refresh=5s/);

    await eventually(async () => (await coloredPixelsPerCanvas(page)).filter((n) => n > 20).length >= 2, 20_000, 'both charts draw their series');
    await eventually(async () => Number(await indicator.getAttribute('data-answered')) >= 2, 20_000, 'panel queries answered from the stream');
    assert.match(await legendText(page, 'Coarse'), /coarse/);
    await page.evaluate(() => {
      window.pharosLiveTestMarker = 'same page';
    });
    const legendBefore = await legendText(page, 'Value');
    assert.match(legendBefore, /steady/);
    const roundsBefore = Number(await indicator.getAttribute('data-rounds'));
    const answeredBefore = Number(await indicator.getAttribute('data-answered'));
    const since = Date.now();
    const legendAfter = await eventually(
      async () => {
        const text = await legendText(page, 'Value');
        return text !== legendBefore && /steady/.test(text) ? text : undefined;
      },
      // A new 15 s point every 15 s, pushed on the next 5 s tick.
      25_000,
      `the legend shows a new last value (was ${JSON.stringify(legendBefore)})`,
    );
    await screenshot(page, 'live-01-live');
    assert.equal(await page.evaluate(() => window.pharosLiveTestMarker), 'same page', 'the page was not reloaded');
    assert.ok(Number(await indicator.getAttribute('data-rounds')) > roundsBefore, 'a pushed round came');
    assert.ok(Number(await indicator.getAttribute('data-answered')) > answeredBefore, 'the redraw was answered from the stream');
    const polled = sent.filter((s) => s.page === page && s.at >= since && s.path.endsWith('/query_range'));
    assert.deepEqual(polled, [], 'no range query went to the network while live');
    assert.equal(streams().length, 1, 'still the same stream');
    assert.notEqual(legendAfter, legendBefore);

    // A changed variable reopens the stream with the new value; the panel follows.
    const field = page.getByLabel('job', { exact: true });
    await field.fill('renamed');
    await field.press('Tab');
    await eventually(() => streams().length === 2, 10_000, 'a second stream after the variable changed');
    assert.deepEqual(new URLSearchParams(streams()[1].search).getAll('var-job'), ['renamed']);
    await eventually(async () => /renamed/.test(await legendText(page, 'Value')), 15_000, 'the legend shows the new series');
    await eventually(async () => (await indicator.getAttribute('data-state')) === 'live', 10_000, 'live again');

    // Refresh off: no stream, no indicator, the page works as before.
    await page.goto(`${pharos.base}/projects/${PROJECT}/dashboards/moving?start=15m&refresh=0s`);
    await page.getByTestId('dashboard-title').waitFor();
    await eventually(async () => (await coloredPixelsPerCanvas(page)).filter((n) => n > 20).length >= 2, 20_000, 'the charts draw without live mode');
    assert.equal(await page.getByTestId('live-indicator').count(), 0);
    assert.equal(streams().length, 2, 'no stream without a refresh interval');
    expectProblems(problems, page);
    await page.close();
  });

  test('a refused stream falls back to polling quietly', async () => {
    // 2 s is shorter than the server streams (query_layer.stream_min_refresh, 5 s): it answers 400.
    const page = await context.newPage();
    const since = Date.now();
    await page.goto(`${pharos.base}/projects/${PROJECT}/dashboards/moving?start=15m&refresh=2s`);
    await page.getByTestId('dashboard-title').waitFor();
    const mine = () => sent.filter((s) => s.page === page && s.at >= since);
    await eventually(() => mine().some((s) => s.path.endsWith('/stream')), 10_000, 'the page tried the stream');
    await eventually(async () => (await coloredPixelsPerCanvas(page)).filter((n) => n > 20).length >= 2, 20_000, 'both charts draw');
    // Perses polls every 2 s: range queries keep going to the network.
    const before = mine().filter((s) => s.path.endsWith('/query_range')).length;
    await eventually(() => mine().filter((s) => s.path.endsWith('/query_range')).length >= before + 4, 10_000, 'polling range queries');
    assert.equal(await page.getByTestId('live-indicator').count(), 0, 'no Live indicator while polling');
    assert.equal(mine().filter((s) => s.path.endsWith('/stream')).length, 1, 'the stream is not retried');
    assert.match(page.url(), /refresh=2s/);
    await screenshot(page, 'live-04-polling');
    // The browser itself logs the refused request; the page adds nothing.
    expectProblems(problems, page, [{ text: /status of 400/, resource: /\/stream\?/ }]);
    await page.close();
  });

  test('a panel whose datasource is down shows the stale marker and keeps its chart', async () => {
    // Pharos keeps the last good answer per 15-minute-aligned range here: stay clear of the next
    // quarter hour for the length of this test.
    const quarter = 15 * 60_000;
    const left = quarter - (Date.now() % quarter);
    if (left < 90_000) await sleep(left + 2_000);

    const page = await context.newPage();
    await page.goto(`${pharos.base}/projects/${PROJECT}/dashboards/outage?start=7d&refresh=5s`);
    await page.getByTestId('dashboard-title').waitFor();
    const indicator = page.getByTestId('live-indicator');
    await eventually(async () => (await indicator.getAttribute('data-state').catch(() => null)) === 'live', 15_000, 'live');
    await eventually(() => chartDrawn(page), 20_000, 'the chart draws its series');
    await eventually(async () => Number(await indicator.getAttribute('data-answered')) > 0, 15_000, 'answered from the stream');
    assert.match(await legendText(page, 'Flaky'), /flaky/);
    assert.equal(await page.getByTestId('stale-marker').count(), 0, 'no marker while the datasource answers');

    await flaky.stop();
    const marker = page.getByTestId('stale-marker');
    await marker.waitFor({ timeout: 20_000 });
    const text = await marker.innerText();
    assert.match(text, /^Stale: data from \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC/, text);
    assert.match(await marker.getAttribute('aria-label'), /data from .* UTC: the backend is unreachable or slow/);
    // The marker is on the panel, the chart keeps its series and legend.
    assert.equal(await page.getByTestId('panel').first().getByTestId('stale-marker').count(), 1);
    assert.ok(await chartDrawn(page), 'the chart still shows its series');
    assert.match(await legendText(page, 'Flaky'), /flaky/);
    await marker.hover();
    await page.getByRole('tooltip').filter({ hasText: 'the backend is unreachable or slow' }).waitFor();
    await screenshot(page, 'live-02-stale-live');

    // Without live mode the panel's own query gets the same stale answer from the proxy.
    await page.goto(`${pharos.base}/projects/${PROJECT}/dashboards/outage?start=7d&refresh=0s`);
    await page.getByTestId('dashboard-title').waitFor();
    await page.getByTestId('stale-marker').waitFor({ timeout: 20_000 });
    assert.match(await page.getByTestId('stale-marker').innerText(), /^Stale: data from /);
    await eventually(() => chartDrawn(page), 20_000, 'the chart draws the stale series');
    assert.match(await legendText(page, 'Flaky'), /flaky/);
    assert.equal(await page.getByTestId('live-indicator').count(), 0);
    await screenshot(page, 'live-03-stale-reload');
    expectProblems(problems, page);
    await page.close();
  });
});
