// Browser tests of the web UI against the real pharos binary and the peers' Prometheus.
// Run: `npm run test:e2e` (after `cargo build -p pharos`), with PHAROS_TEST_PROMETHEUS_URL set
// (scripts/test.sh does both). Screenshots and figures land in e2e/artifacts/.
import assert from 'node:assert/strict';
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { gzipSync } from 'node:zlib';
import { loadavg } from 'node:os';
import { REPO_ROOT, describeProblem, expectProblems, launchBrowser, logIn, prometheusUrl, screenshot, startPharos, writeArtifact } from './harness.mjs';
import { addTimeSeriesPanel, eightPanelDashboard, saveDashboard, summarize, timeSeriesDashboard, waitForChartsWithData } from './flows.mjs';

const PROJECT = 'team-a';
const DATASOURCE = 'e2e-prometheus';
const PROXY = `/proxy/projects/${PROJECT}/globaldatasources/${DATASOURCE}`;
/** What a tenant project's PromQL editor may see refused: metadata lookups (403, see docs/user/ui.md). */
const EDITOR_LOOKUPS_REFUSED = {
  text: /status of 403/,
  resource: new RegExp(`${PROXY}/api/v1/(metadata|series|labels|label/)`),
  optional: true,
};

/**
 * Runs in the page before its scripts: notes, per canvas, when the first stroke in a saturated
 * color happens. Series lines are drawn in palette colors; axes and grid lines are gray. This
 * measures "panel drawn" without polling pixels, which would itself slow the page down.
 */
function recordFirstSeriesStroke() {
  const drawn = new Map();
  window.__pharosSeriesDrawn = drawn;
  const saturated = (style) => {
    if (typeof style !== 'string') return false;
    let rgb;
    const hex = style.match(/^#([0-9a-f]{6})$/i);
    if (hex) rgb = [0, 2, 4].map((i) => parseInt(hex[1].slice(i, i + 2), 16));
    const fn = style.match(/^rgba?\(([^)]+)\)/);
    if (fn) rgb = fn[1].split(',').slice(0, 3).map(Number);
    return rgb !== undefined && Math.max(...rgb) - Math.min(...rgb) > 60;
  };
  const stroke = CanvasRenderingContext2D.prototype.stroke;
  CanvasRenderingContext2D.prototype.stroke = function (...args) {
    if (!drawn.has(this.canvas) && saturated(this.strokeStyle)) drawn.set(this.canvas, performance.now());
    return stroke.apply(this, args);
  };
}
const FIXTURES = join(REPO_ROOT, '../shared/reference/perses');
const DATA_END_MS = Number(process.env.PHAROS_TEST_TENANT_DATA_END ?? '1767225600') * 1000;
const prometheus = prometheusUrl();

describe('web UI', { skip: prometheus ? false : 'PHAROS_TEST_PROMETHEUS_URL is unset (start the peers)' }, () => {
  let pharos;
  let browser;
  let context;
  let problems;
  const proxyCalls = [];
  const results = { screenshots: [] };

  const shot = async (page, name) => results.screenshots.push(await screenshot(page, name));

  before(async () => {
    pharos = await startPharos();
    const project = await pharos.api('POST', '/api/v1/projects', {
      kind: 'Project',
      metadata: { name: PROJECT },
      spec: { namespaces: [PROJECT] },
    });
    assert.equal(project.status, 200, project.text);
    // Not the default: the embedded store's "local" is. Panels pick this one by name, and their
    // queries go through the project-scoped route for global datasources (tenant-enforced).
    const global = await pharos.api('POST', '/api/v1/globaldatasources', {
      kind: 'GlobalDatasource',
      metadata: { name: DATASOURCE },
      spec: {
        default: false,
        plugin: { kind: 'PrometheusDatasource', spec: { proxy: { kind: 'HTTPProxy', spec: { url: prometheus } } } },
      },
    });
    assert.equal(global.status, 200, global.text);
    ({ browser, context, problems } = await launchBrowser());
    // Every page of the context shares this session (the login page also warms the cache for
    // the first-download scripts).
    await logIn(context, pharos, problems);
    context.on('request', (request) => {
      const url = new URL(request.url());
      if (url.pathname.startsWith('/proxy/')) proxyCalls.push(`${request.method()} ${url.pathname}`);
    });
  });

  /** Creates a dashboard through the API, with time-series panels over the peers' Prometheus. */
  const createDashboard = async (name, queries) => {
    const answer = await pharos.api('POST', `/api/v1/projects/${PROJECT}/dashboards`, timeSeriesDashboard(PROJECT, name, DATASOURCE, queries));
    assert.equal(answer.status, 200, answer.text);
    return answer;
  };

  after(async () => {
    results.consoleProblems = problems?.map(describeProblem);
    const path = writeArtifact('results.json', results);
    console.log(`browser test results: ${path}\n${JSON.stringify({ ...results, consoleProblems: problems?.length }, null, 2)}`);
    await browser?.close();
    await pharos?.stop();
  });

  test('the project list shows projects and the dashboard list loads no Perses code', async () => {
    const page = await context.newPage();
    const scripts = [];
    page.on('response', async (response) => {
      if (response.url().endsWith('.js')) scripts.push({ url: response.url(), bytes: (await response.body()).length });
    });
    await page.goto(`${pharos.base}/`);
    await page.getByRole('link', { name: PROJECT }).waitFor();
    await shot(page, '01-projects');
    await page.getByRole('link', { name: PROJECT }).click();
    await page.getByText('No dashboards in this project yet.').waitFor();
    await page.waitForLoadState('networkidle');
    await shot(page, '02-dashboard-list');
    const names = scripts.map((s) => s.url.split('/').pop());
    assert.ok(names.length > 0);
    assert.ok(!names.some((n) => n.startsWith('PersesDashboard')), `list pages loaded the dashboard code: ${names}`);
    // The Perses packages (~2.7 MB) sit in a chunk shared by the dashboard and Explore pages, named
    // after whichever module the bundler picks; no script a list page loads may be that large.
    const largest = scripts.reduce((max, s) => Math.max(max, s.bytes), 0);
    assert.ok(largest < 1_500_000, `list pages loaded a ${largest}-byte script (the Perses code?): ${names}`);
    results.dashboardListScripts = { files: names, bytes: scripts.reduce((sum, s) => sum + s.bytes, 0) };
    expectProblems(problems, page);
    await page.close();
  });

  test('create a dashboard, add a time-series panel, see data, save, reload: persisted', async () => {
    const page = await context.newPage();
    await page.goto(`${pharos.base}/projects/${PROJECT}`);
    await page.getByRole('button', { name: 'New dashboard' }).click();
    await page.getByTestId('new-dashboard-title').fill('E2E demo');
    await page.getByRole('button', { name: 'Create' }).click();
    await page.getByRole('button', { name: 'Save', exact: true }).waitFor();
    await shot(page, '03-new-dashboard-edit-mode');
    await addTimeSeriesPanel(page, 'Request rate', 'sum by (handler) (rate(prometheus_http_requests_total[1m]))', DATASOURCE);
    const pixels = await waitForChartsWithData(page, 1);
    await shot(page, '04-panel-with-data');
    const saved = await saveDashboard(page);
    assert.equal(saved.status(), 200, await saved.text());
    await page.getByTestId('save-ok').waitFor();
    await page.reload();
    await page.getByText('Request rate').first().waitFor();
    await waitForChartsWithData(page, 1);
    await shot(page, '05-reloaded-persisted');
    const stored = await pharos.api('GET', `/api/v1/projects/${PROJECT}/dashboards/E2E-demo`);
    assert.equal(stored.status, 200, stored.text);
    const panels = Object.values(stored.json.spec.panels);
    assert.equal(panels.length, 1);
    assert.equal(panels[0].spec.display.name, 'Request rate');
    // Queries went through the project's tenant-enforcing proxy route, never to Prometheus directly.
    assert.ok(
      proxyCalls.includes(`POST /proxy/projects/${PROJECT}/globaldatasources/${DATASOURCE}/api/v1/query_range`),
      `proxy calls: ${proxyCalls.join(', ')}`,
    );
    results.chartColoredPixels = pixels;
    expectProblems(problems, page, [EDITOR_LOOKUPS_REFUSED]);
    await page.close();
  });

  test('saving a stale copy in a second tab shows the conflict, keeps the edits, and can load the latest', async () => {
    // A moving series: a constant one (like `up` = 1) is drawn on the chart's top border and
    // leaves almost no coloured pixels for the chart-drawn checks.
    await createDashboard('conflict', ['sum by (handler) (rate(prometheus_http_requests_total[1m]))']);
    const url = `${pharos.base}/projects/${PROJECT}/dashboards/conflict`;
    const [first, second] = [await context.newPage(), await context.newPage()];
    for (const page of [first, second]) {
      await page.goto(url);
      await page.getByRole('button', { name: 'Edit' }).click();
    }
    await addTimeSeriesPanel(first, 'First tab panel', 'sum(rate(prometheus_http_requests_total[1m]))', DATASOURCE);
    assert.equal((await saveDashboard(first)).status(), 200);
    await addTimeSeriesPanel(second, 'Second tab panel', 'up', DATASOURCE);
    const refused = await saveDashboard(second);
    assert.equal(refused.status(), 412, await refused.text());
    const notice = second.getByTestId('save-error');
    await notice.waitFor();
    assert.match(await notice.innerText(), /someone else changed this dashboard[\s\S]*precondition failed/i);
    // Still editing, and the unsaved panel is still there.
    assert.ok(await second.getByRole('button', { name: 'Save', exact: true }).isVisible());
    assert.ok(await second.getByText('Second tab panel').first().isVisible());
    await shot(second, '06-conflict-second-tab');
    const stored = async () => Object.values((await pharos.api('GET', `/api/v1/projects/${PROJECT}/dashboards/conflict`)).json.spec.panels).map((p) => p.spec.display.name).sort();
    assert.deepEqual(await stored(), ['First tab panel', 'Panel 1']);
    // "Discard my edits and load the latest": the first tab's panel appears, the second's is gone,
    // and a save from here is based on the latest version (no conflict).
    await notice.getByRole('button', { name: 'Discard my edits and load the latest' }).click();
    await second.getByText('First tab panel').first().waitFor();
    assert.equal(await second.getByText('Second tab panel').count(), 0);
    await second.getByRole('button', { name: 'Edit' }).click();
    await addTimeSeriesPanel(second, 'After reload panel', 'sum(rate(prometheus_http_requests_total[5m]))', DATASOURCE);
    assert.equal((await saveDashboard(second)).status(), 200);
    assert.deepEqual(await stored(), ['After reload panel', 'First tab panel', 'Panel 1']);
    expectProblems(problems, first, [EDITOR_LOOKUPS_REFUSED]);
    expectProblems(problems, second, [
      EDITOR_LOOKUPS_REFUSED,
      { text: /status of 412/, resource: new RegExp(`/api/v1/projects/${PROJECT}/dashboards/conflict$`) },
      { text: /An error occurred while saving the dashboard\. ApiError: precondition failed/ },
    ]);
    await first.close();
    await second.close();
  });

  test('import a Perses dashboard file; a file that is not a dashboard is explained', async () => {
    assert.ok(existsSync(FIXTURES), `${FIXTURES} is missing (the shared folder sits beside the repository)`);
    const page = await context.newPage();
    await page.goto(`${pharos.base}/import?project=${PROJECT}`);
    await page.getByTestId('import-file').setInputFiles(join(FIXTURES, '2-globalrole.json'));
    await page.getByText(/not a Dashboard/).waitFor();
    await shot(page, '07-import-wrong-kind');
    await page.getByTestId('import-file').setInputFiles(join(FIXTURES, 'dashboard.json'));
    await page.getByTestId('import-preview').waitFor();
    await page.getByRole('button', { name: 'Import', exact: true }).click();
    await page.waitForURL(/\/projects\/team-a\/dashboards\/myDashboard$/);
    await page.getByTestId('dashboard-title').waitFor();
    assert.equal(await page.getByTestId('dashboard-title').innerText(), 'eta');
    // Its own datasource points at an unreachable localhost:9090: the panel shows the server's
    // message and the rest of the page works.
    await page.getByText(/cannot reach datasource "Victoria Metrics"/).waitFor();
    await page.waitForLoadState('networkidle');
    await shot(page, '08-imported-dashboard');
    const stored = await pharos.api('GET', `/api/v1/projects/${PROJECT}/dashboards/myDashboard`);
    assert.equal(stored.status, 200, stored.text);
    assert.equal(stored.json.spec.display.name, 'eta');
    expectProblems(problems, page, [
      // Perses passes the dashboard name in lower case to the proxy URL builder.
      { text: /status of 502/, resource: new RegExp(`/proxy/projects/${PROJECT}/dashboards/myDashboard/datasources/Victoria%20Metrics/`, 'i') },
      { text: /cannot reach datasource "Victoria Metrics"/, optional: true },
    ]);
    await page.close();
  });

  test('a panel with a broken query shows the server message in the panel', async () => {
    const dashboard = eightPanelDashboard(PROJECT, 'broken', DATASOURCE);
    const broken = 'sum(rate(prometheus_http_requests_total[1m]';
    dashboard.spec.panels = { panel0: dashboard.spec.panels.panel0 };
    dashboard.spec.panels.panel0.spec.queries[0].spec.plugin.spec.query = broken;
    dashboard.spec.layouts[0].spec.items = dashboard.spec.layouts[0].spec.items.slice(0, 1);
    assert.equal((await pharos.api('POST', `/api/v1/projects/${PROJECT}/dashboards`, dashboard)).status, 200);
    // What the proxy answers the Prometheus client for this query.
    const direct = await pharos.fetch(`${PROXY}/api/v1/query_range`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ query: broken, start: '0', end: '60', step: '15' }),
    });
    const { message } = await direct.json();
    assert.equal(direct.status, 400, message);
    // The whole message, so an empty or missing one cannot match any text on the page.
    assert.match(message, /not valid PromQL/);
    const page = await context.newPage();
    await page.goto(`${pharos.base}/projects/${PROJECT}/dashboards/broken`);
    const panelAlert = page.getByTestId('panel').getByRole('alert');
    await panelAlert.waitFor();
    assert.ok((await panelAlert.innerText()).includes(message), `${await panelAlert.innerText()} / ${message}`);
    assert.ok(await page.getByRole('button', { name: 'Edit' }).isEnabled(), 'the page stays usable');
    await shot(page, '09-broken-query');
    expectProblems(problems, page, [
      { text: /status of 400/, resource: new RegExp(`${PROXY}/api/v1/query_range`) },
      { text: /query refused by tenant enforcement: the query is not valid PromQL/, optional: true },
    ]);
    await page.close();
  });

  test('history lists the versions; a missing project shows the server message', async () => {
    await createDashboard('versions', ['sum(rate(prometheus_http_requests_total[1m]))']);
    for (const title of ['Second', 'Third']) {
      const current = await pharos.api('GET', `/api/v1/projects/${PROJECT}/dashboards/versions`);
      current.json.spec.display.name = title;
      const saved = await pharos.api('PUT', `/api/v1/projects/${PROJECT}/dashboards/versions`, current.json, { 'if-match': current.etag });
      assert.equal(saved.status, 200, saved.text);
    }
    const page = await context.newPage();
    await page.goto(`${pharos.base}/projects/${PROJECT}/dashboards/versions/history`);
    await page.getByRole('table', { name: 'Versions' }).waitFor();
    const rows = await page.getByRole('table', { name: 'Versions' }).locator('tbody tr').count();
    assert.equal(rows, 3, 'created and saved twice');
    await shot(page, '10-history');
    await page.goto(`${pharos.base}/projects/no-such-project/dashboards/x`);
    const notice = page.getByTestId('error-notice');
    await notice.waitFor();
    const expected = (await pharos.api('GET', '/api/v1/projects/no-such-project/dashboards/x')).json.message;
    assert.match(expected, /no-such-project/);
    assert.ok((await notice.innerText()).includes(expected), `${await notice.innerText()} / ${expected}`);
    await shot(page, '11-missing-project');
    expectProblems(problems, page, [{ text: /status of 400/, resource: /\/api\/v1\/projects\/no-such-project\/dashboards\/x$/ }]);
    await page.close();
  });

  test('dark theme toggle', async () => {
    await createDashboard('theme', ['sum by (handler) (rate(prometheus_http_requests_total[1m]))', 'sum(rate(prometheus_http_requests_total[1m]))']);
    const page = await context.newPage();
    await page.goto(`${pharos.base}/projects/${PROJECT}/dashboards/theme`);
    await waitForChartsWithData(page, 2);
    const background = () => page.evaluate(() => getComputedStyle(document.body).backgroundColor);
    const light = await background();
    await page.getByTestId('theme-toggle').click();
    await page.waitForFunction((before) => getComputedStyle(document.body).backgroundColor !== before, light);
    const dark = await background();
    const brightness = (rgb) => rgb.match(/\d+/g).slice(0, 3).reduce((s, v) => s + Number(v), 0);
    assert.ok(brightness(dark) < brightness(light), `${light} -> ${dark}`);
    await waitForChartsWithData(page, 2);
    await shot(page, '12-dark-theme');
    await page.getByTestId('theme-toggle').click();
    expectProblems(problems, page);
    await page.close();
  });

  test('load time of an 8-panel dashboard over 1 h and 7 d (reported, not asserted)', async () => {
    const created = await pharos.api('POST', `/api/v1/projects/${PROJECT}/dashboards`, eightPanelDashboard(PROJECT, 'eight', DATASOURCE));
    assert.equal(created.status, 200, created.text);
    // [start, end] in ms. The hour ends an hour before the data does: a range that crosses the
    // new year at the data's end makes the Perses/ECharts time axis burn 7-10 s of CPU, which
    // is measured separately below rather than mixed into the 1 h figure.
    const hour = 3_600_000;
    const ranges = {
      '1h': [DATA_END_MS - 2 * hour, DATA_END_MS - hour],
      '7d': [DATA_END_MS - 168 * hour, DATA_END_MS],
      '1h across new year': [DATA_END_MS - hour / 2, DATA_END_MS + hour / 2],
    };
    const runsPerRange = 20;
    results.loadTimesMs = {};
    for (const [label, [start, end]] of Object.entries(ranges)) {
      const times = [];
      const network = [];
      for (let run = 0; run < (label.includes('new year') ? 2 : runsPerRange); run++) {
        // A fresh page each time; the first run of the first range starts with a cold cache.
        const page = await context.newPage();
        // Tall enough that all 8 panels are on screen: Perses only queries visible panels.
        await page.setViewportSize({ width: 1600, height: 1500 });
        await page.addInitScript(recordFirstSeriesStroke);
        const url = `${pharos.base}/projects/${PROJECT}/dashboards/eight?start=${start}&end=${end}`;
        await page.goto(url, { waitUntil: 'commit' });
        // Cheap to poll: the stroke hook has already noted when each canvas got its first series.
        const handle = await page.waitForFunction(
          () => {
            const times = Array.from(window.__pharosSeriesDrawn?.values() ?? []);
            if (times.length < 8) return false;
            const queries = performance.getEntriesByType('resource').filter((e) => e.name.includes('/api/v1/query_range'));
            return {
              // The 8th canvas to get a series (a chart redrawn on a new canvas must not count twice).
              drawnMs: times.sort((a, b) => a - b)[7],
              queries: queries.length,
              lastQueryAnsweredMs: Math.max(...queries.map((e) => e.responseEnd)),
              slowestQueryMs: Math.max(...queries.map((e) => e.duration)),
            };
          },
          undefined,
          // Generous: on a 2-core machine shared with builds the first, cold load can take 30 s.
          { polling: 100, timeout: 90_000 },
        );
        const measured = await handle.jsonValue();
        times.push(measured.drawnMs);
        network.push(measured);
        if (run === 0) {
          // The hook saw colored strokes; confirm the pixels are really on all 8 canvases.
          const pixels = await waitForChartsWithData(page, 8);
          assert.ok(pixels.filter((n) => n > 20).length >= 8, JSON.stringify(pixels));
          await shot(page, `13-eight-panels-${label.replaceAll(' ', '-')}`);
        }
        expectProblems(problems, page);
        await page.close();
      }
      results.loadTimesMs[label] = {
        ...summarize(times),
        all: times.map(Math.round),
        lastQueryAnsweredMs: summarize(network.map((n) => n.lastQueryAnsweredMs)),
        slowestQueryMs: summarize(network.map((n) => n.slowestQueryMs)),
        queriesPerLoad: network[0].queries,
      };
    }
    results.loadAverageDuringRun = loadavg().map((l) => Number(l.toFixed(2)));
    console.log(`8-panel dashboard, navigation to all panels drawn (ms): ${JSON.stringify(results.loadTimesMs)}`);
  });

  test('no browser problem went unclaimed (each test claims only the failures it caused)', () => {
    const unclaimed = problems.filter((p) => !p.claimed).map(describeProblem);
    assert.deepEqual(unclaimed, []);
    assert.ok(!problems.some((p) => /Content Security Policy/i.test(p.text)));
  });

  test('bundle size (reported)', () => {
    const dist = join(REPO_ROOT, 'crates/pharos-server/ui-dist/assets');
    const scripts = readdirSync(dist).filter((f) => f.endsWith('.js'));
    const gzipped = (f) => gzipSync(readFileSync(join(dist, f)), { level: 9 }).length;
    const total = scripts.reduce((sum, f) => sum + statSync(join(dist, f)).size, 0);
    const totalGzip = scripts.reduce((sum, f) => sum + gzipped(f), 0);
    const initial = results.dashboardListScripts?.files ?? [];
    results.bundle = {
      jsBytes: total,
      jsGzipBytes: totalGzip,
      dashboardListJsGzipBytes: initial.reduce((sum, f) => sum + (scripts.includes(f) ? gzipped(f) : 0), 0),
    };
    assert.ok(totalGzip > 0 && totalGzip < total);
  });
});
