// Browser tests of what Pharos draws over time-series charts (docs/user/ui.md, "Alert thresholds on
// charts", "Time shift", "Synchronized crosshair"):
// (a) the peers' Prometheus evaluates TenantTargetUp (`up{job="tenant-a"} > 0.5`, firing on team-a):
//     a team-a panel on that expression gets the dashed red threshold line named after the rule, a
//     red firing band and the chip "TenantTargetUp: firing" (skipped without the peers, as ui.test);
// (b) "Compare with… 1 day ago" (and a custom 2h) adds the panel's query shifted (`offset 1d` sent),
//     drawn dashed with " (1d ago)" after the series name, not saved;
// (c) hovering one chart moves the other chart's crosshair; dragging on one sets the dashboard's
//     range and both charts follow;
// (d) no console errors anywhere.
// (b) and (c) use a Prometheus stand-in in this process that answers every range query.
import assert from 'node:assert/strict';
import http from 'node:http';
import { after, before, describe, test } from 'node:test';
import { coloredPixelsPerCanvas, expectProblems, launchBrowser, logIn, prometheusUrl, screenshot, startPharos } from './harness.mjs';

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const prometheus = prometheusUrl();

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

/**
 * A Prometheus stand-in: every range query gets one series (its `job` label taken from the query)
 * whose value moves with time; a shifted query (with `offset`) answers 5 more. No rules.
 */
async function startStandIn() {
  const queries = [];
  const server = http.createServer((request, response) => {
    let body = '';
    request.on('data', (chunk) => {
      body += chunk;
    });
    request.on('end', () => {
      const url = new URL(request.url, 'http://stand-in');
      const params = new URLSearchParams(url.search);
      for (const [key, value] of new URLSearchParams(body)) params.append(key, value);
      const query = params.get('query') ?? '';
      const reply = (json) => {
        response.writeHead(200, { 'content-type': 'application/json' });
        response.end(JSON.stringify(json));
      };
      const job = /job="([^"]*)"/.exec(query)?.[1] ?? 'none';
      const metric = { __name__: 'overlay_test_value', job };
      const base = (job === 'second' ? 20 : 0) + (/offset/.test(query) ? 5 : 0);
      if (url.pathname.endsWith('/api/v1/query_range')) {
        queries.push(query);
        const [start, end, step] = ['start', 'end', 'step'].map((k) => Number(params.get(k)));
        const values = [];
        for (let t = start; t <= end && values.length < 11_000; t += step) values.push([t, String(base + ((t / 60) % 10))]);
        return reply({ status: 'success', data: { resultType: 'matrix', result: [{ metric, values }] } });
      }
      if (url.pathname.endsWith('/api/v1/rules')) return reply({ status: 'success', data: { groups: [] } });
      return reply({ status: 'success', data: [] });
    });
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${server.address().port}`,
    queries,
    async stop() {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

/** A time-series panel with a listed legend. */
function chart(title, query) {
  return {
    kind: 'Panel',
    spec: {
      display: { name: title },
      plugin: { kind: 'TimeSeriesChart', spec: { legend: { position: 'bottom', mode: 'list' } } },
      queries: [{ kind: 'TimeSeriesQuery', spec: { plugin: { kind: 'PrometheusTimeSeriesQuery', spec: { query } } } }],
    },
  };
}

/** A dashboard of `panels` ({key: panel}), one per row. */
function dashboardOf(project, name, panels, duration) {
  const items = Object.keys(panels).map((key, i) => ({ x: 0, y: i * 9, width: 24, height: 9, content: { $ref: `#/spec/panels/${key}` } }));
  return {
    kind: 'Dashboard',
    metadata: { name, project },
    spec: { display: { name }, duration, variables: [], panels, layouts: [{ kind: 'Grid', spec: { items } }] },
  };
}

/** The panel titled `title`. */
const panelTitled = (page, title) => page.getByTestId('panel').filter({ has: page.locator(`[id$="-title"]:text-is("${title}")`) });

/**
 * What each time-series panel's ECharts instance draws (alertOverlays.ts keeps the instance on the
 * chart's element): series names, line styles, bands and lines of the overlay series, x axis range.
 */
const charts = (page) =>
  page.evaluate(() =>
    Array.from(document.querySelectorAll('[data-testid="panel"]')).map((panel) => {
      const title = panel.querySelector('[id$="-title"]')?.textContent ?? '';
      const chart = panel.querySelector('[_echarts_instance_]')?.__pharosChart;
      if (!chart || chart.isDisposed()) return { title, chart: false };
      const option = chart.getOption();
      const time = (value) => (value instanceof Date ? value.getTime() : Number(value));
      return {
        title,
        chart: true,
        group: chart.group,
        xAxis: (option.xAxis ?? []).map((axis) => ({ min: time(axis.min), max: time(axis.max) })),
        series: (option.series ?? []).map((s) => ({
          id: String(s.id ?? ''),
          name: String(s.name ?? ''),
          lineType: s.lineStyle?.type,
          color: s.color,
          bands: (s.markArea?.data ?? []).map(([from, to]) => ({ name: from.name, from: time(from.xAxis), to: time(to.xAxis), color: from.itemStyle?.color })),
          lines: (s.markLine?.data ?? []).map((line) => ({ name: line.name, yAxis: Number(line.yAxis), color: line.lineStyle?.color })),
        })),
      };
    }),
  );

const chartOf = async (page, title) => (await charts(page)).find((c) => c.title === title);

/** "rgb(211, 47, 47)" / "#d32f2f" / "rgba(…)" → [r, g, b]. */
function rgbOf(color) {
  const hex = /^#([0-9a-f]{6})$/i.exec(color ?? '');
  if (hex) return [0, 2, 4].map((i) => parseInt(hex[1].slice(i, i + 2), 16));
  const fn = /^rgba?\(([^)]+)\)/.exec(color ?? '');
  return fn ? fn[1].split(',').slice(0, 3).map(Number) : undefined;
}
const isRed = (color) => {
  const rgb = rgbOf(color);
  return rgb !== undefined && rgb[0] > 150 && rgb[1] < 100 && rgb[2] < 100;
};

describe('chart overlays', () => {
  let pharos;
  let browser;
  let context;
  let problems;
  let standIn;
  /** The `…/alerts` requests the browser sent. */
  const alertRequests = [];

  before(async () => {
    standIn = await startStandIn();
    pharos = await startPharos();
    const compare = await pharos.api('POST', '/api/v1/projects', { kind: 'Project', metadata: { name: 'compare' }, spec: {} });
    assert.equal(compare.status, 200, compare.text);
    const datasource = await pharos.api('POST', '/api/v1/projects/compare/datasources', {
      kind: 'Datasource',
      metadata: { name: 'stand-in', project: 'compare' },
      spec: { default: true, plugin: { kind: 'PrometheusDatasource', spec: { proxy: { kind: 'HTTPProxy', spec: { url: standIn.url } } } } },
    });
    assert.equal(datasource.status, 200, datasource.text);
    const pair = dashboardOf(
      'compare',
      'pair',
      { first: chart('First', 'overlay_test_value{job="first"}'), second: chart('Second', 'overlay_test_value{job="second"}') },
      '1h',
    );
    const created = await pharos.api('POST', '/api/v1/projects/compare/dashboards', pair);
    assert.equal(created.status, 200, created.text);

    if (prometheus) {
      const teamA = await pharos.api('POST', '/api/v1/projects', { kind: 'Project', metadata: { name: 'team-a' }, spec: { namespaces: ['team-a'] } });
      assert.equal(teamA.status, 200, teamA.text);
      const prom = await pharos.api('POST', '/api/v1/projects/team-a/datasources', {
        kind: 'Datasource',
        metadata: { name: 'prom', project: 'team-a' },
        spec: { default: true, plugin: { kind: 'PrometheusDatasource', spec: { proxy: { kind: 'HTTPProxy', spec: { url: prometheus } } } } },
      });
      assert.equal(prom.status, 200, prom.text);
      const targets = dashboardOf('team-a', 'targets', { up: chart('Tenant target', 'up{job="tenant-a"}') }, '15m');
      const stored = await pharos.api('POST', '/api/v1/projects/team-a/dashboards', targets);
      assert.equal(stored.status, 200, stored.text);
    }

    ({ browser, context, problems } = await launchBrowser());
    await logIn(context, pharos, problems);
    context.on('request', (request) => {
      const url = new URL(request.url());
      if (url.pathname.endsWith('/alerts')) alertRequests.push({ page: request.frame().page(), path: url.pathname, search: url.search });
    });
  });

  after(async () => {
    await browser?.close();
    await pharos?.stop();
    await standIn?.stop();
  });

  test('a firing rule on a panel\'s expression draws its threshold line, a firing band and a chip', {
    skip: prometheus ? false : 'PHAROS_TEST_PROMETHEUS_URL is unset (start the peers)',
  }, async () => {
    const page = await context.newPage();
    await page.goto(`${pharos.base}/projects/team-a/dashboards/targets?start=15m`);
    await page.getByTestId('dashboard-title').waitFor();
    const panel = panelTitled(page, 'Tenant target');
    // The rule fires from Prometheus' first evaluation; the page asks on load.
    const chip = panel.getByTestId('alert-chip');
    await chip.waitFor({ timeout: 20_000 });
    assert.equal(await chip.getAttribute('data-rule'), 'TenantTargetUp');
    assert.equal(await chip.getAttribute('data-state'), 'firing');
    assert.equal((await chip.innerText()).trim(), 'TenantTargetUp: firing');
    const mine = alertRequests.filter((r) => r.page === page);
    assert.equal(mine[0]?.path, '/api/v1/projects/team-a/dashboards/targets/alerts');
    assert.equal(new URLSearchParams(mine[0].search).get('range'), '15m');

    const drawn = await eventually(
      async () => {
        const state = await chartOf(page, 'Tenant target');
        const overlay = state?.series.find((s) => s.id === 'pharos-alert-overlays');
        return overlay && overlay.bands.length > 0 ? state : undefined;
      },
      15_000,
      'the chart has the overlay series with a band',
    );
    // The line: a dashed series at 0.5 named after the rule, red (the rule fires), beside the data.
    const line = drawn.series.find((s) => s.name === 'TenantTargetUp > 0.5');
    assert.ok(line, `threshold series, got ${JSON.stringify(drawn.series.map((s) => s.name))}`);
    assert.equal(line.lineType, 'dashed');
    assert.ok(isRed(line.color), `red line, got ${line.color}`);
    assert.ok(drawn.series.some((s) => /up\{.*tenant-a/.test(s.name)), `the panel's own series, got ${JSON.stringify(drawn.series.map((s) => s.name))}`);
    // The band: firing, red, inside the 15 minutes shown, reaching (about) now.
    const overlay = drawn.series.find((s) => s.id === 'pharos-alert-overlays');
    const firing = overlay.bands.filter((b) => b.name === 'TenantTargetUp: firing');
    assert.ok(firing.length > 0, JSON.stringify(overlay.bands));
    const last = firing[firing.length - 1];
    assert.ok(isRed(last.color), `red band, got ${last.color}`);
    assert.ok(last.to > last.from, JSON.stringify(last));
    assert.ok(Date.now() - last.to < 2 * 60_000, `the band reaches the last minutes: ${new Date(last.to).toISOString()}`);
    assert.ok(last.from >= Date.now() - 16 * 60_000, `the band starts inside the window: ${new Date(last.from).toISOString()}`);
    // The line's label, at the threshold.
    assert.deepEqual(overlay.lines.map((l) => [l.name, l.yAxis]), [['TenantTargetUp', 0.5]]);
    // Drawn for real: the band's red tint is on the canvas.
    assert.ok((await coloredPixelsPerCanvas(page)).some((n) => n > 20), 'the chart draws');
    await chip.hover();
    await page.getByRole('tooltip').filter({ hasText: 'TenantTargetUp (group pharos-test): > 0.5' }).waitFor();
    await screenshot(page, 'overlays-01-alert');
    expectProblems(problems, page);
    await page.close();
  });

  test('"Compare with…" draws the panel\'s query shifted, dashed, with " (1d ago)", and saves nothing', async () => {
    const page = await context.newPage();
    await page.goto(`${pharos.base}/projects/compare/dashboards/pair?start=1h`);
    await page.getByTestId('dashboard-title').waitFor();
    await eventually(async () => (await coloredPixelsPerCanvas(page)).filter((n) => n > 20).length >= 2, 20_000, 'both charts draw');
    const first = panelTitled(page, 'First');
    const second = panelTitled(page, 'Second');
    // No rules on the stand-in: no chips.
    assert.equal(await page.getByTestId('alert-chip').count(), 0);

    // Perses puts a panel's plugin actions (CSV export, this) behind its ≡ button.
    const compare = async (choose) => {
      await first.hover();
      await first.getByRole('button', { name: 'show panel actions for First' }).click();
      await page.getByRole('button', { name: 'Compare with an earlier time' }).click();
      const menu = page.getByTestId('time-shift-menu');
      await menu.waitFor();
      await choose(menu);
      await menu.waitFor({ state: 'hidden' });
    };
    const sentSince = standIn.queries.length;
    await compare((menu) => menu.getByRole('menuitem', { name: '1 day ago' }).click());
    const chip = first.getByTestId('time-shift-chip');
    await chip.waitFor();
    assert.match(await chip.innerText(), /Compared with 1d ago/);
    await eventually(async () => /overlay_test_value\{job="first"\} \(1d ago\)/.test(await first.innerText()), 15_000, 'the legend lists the shifted series');
    const shiftedSent = standIn.queries.slice(sentSince).filter((q) => /offset/.test(q));
    assert.ok(shiftedSent.length > 0, 'a shifted query reached the datasource');
    assert.ok(shiftedSent.every((q) => /job="first"/.test(q) && /offset 1d\b/.test(q)), JSON.stringify(shiftedSent));
    const state = await eventually(async () => {
      const c = await chartOf(page, 'First');
      return c?.series.some((s) => s.name.endsWith(' (1d ago)')) ? c : undefined;
    }, 10_000, 'the chart draws the shifted series');
    const shifted = state.series.find((s) => s.name.endsWith(' (1d ago)'));
    const own = state.series.find((s) => s.name === 'overlay_test_value{job="first"}');
    assert.ok(own, JSON.stringify(state.series.map((s) => s.name)));
    assert.equal(shifted.lineType, 'dashed');
    assert.notEqual(own.lineType, 'dashed');
    // The other panel is not compared.
    assert.doesNotMatch(await second.innerText(), /ago/);
    assert.equal(await second.getByTestId('time-shift-chip').count(), 0);
    await screenshot(page, 'overlays-02-compare-1d');

    // A custom duration replaces it.
    await compare(async (menu) => {
      await menu.getByLabel('Compare with a custom time ago').fill('2h');
      await menu.getByRole('button', { name: 'Compare' }).click();
    });
    await eventually(async () => /Compared with 2h ago/.test(await chip.innerText()), 5_000, 'the chip says 2h');
    await eventually(async () => /\(2h ago\)/.test(await first.innerText()), 15_000, 'the legend lists the 2h series');
    assert.doesNotMatch(await first.innerText(), /\(1d ago\)/);
    assert.ok(standIn.queries.some((q) => /job="first"/.test(q) && /offset 2h\b/.test(q)), 'offset 2h sent');

    // Stop: the copies go, the chip goes.
    await chip.getByRole('button', { name: 'Stop comparing' }).click();
    await chip.waitFor({ state: 'detached' });
    await eventually(async () => !/ago\)/.test(await first.innerText()), 10_000, 'no shifted series left');

    // Nothing was saved: the stored dashboard has no trace of it, a reload shows no comparison.
    await compare((menu) => menu.getByRole('menuitem', { name: '1 week ago' }).click());
    await eventually(async () => /\(1w ago\)/.test(await first.innerText()), 15_000, 'the 1w series');
    const stored = await pharos.api('GET', '/api/v1/projects/compare/dashboards/pair');
    assert.equal(stored.status, 200, stored.text);
    assert.doesNotMatch(stored.text, /offset|TimeShift|ago/);
    await page.reload();
    await page.getByTestId('dashboard-title').waitFor();
    await eventually(async () => (await coloredPixelsPerCanvas(page)).filter((n) => n > 20).length >= 2, 20_000, 'both charts draw again');
    assert.equal(await page.getByTestId('time-shift-chip').count(), 0);
    assert.doesNotMatch(await first.innerText(), /ago\)/);
    expectProblems(problems, page);
    await page.close();
  });

  test('hovering one chart moves the other\'s crosshair; a drag-zoom sets the range of both', async () => {
    const page = await context.newPage();
    await page.goto(`${pharos.base}/projects/compare/dashboards/pair?start=1h`);
    await page.getByTestId('dashboard-title').waitFor();
    await eventually(async () => (await charts(page)).filter((c) => c.chart && c.series.length > 0).length === 2, 20_000, 'both charts');
    const before = await charts(page);
    assert.deepEqual(before.map((c) => c.group), ['default-panel-group', 'default-panel-group']);

    // Listen on the second chart, then move over the first one's plot.
    await page.evaluate(() => {
      const element = document.querySelectorAll('[data-testid="panel"] [_echarts_instance_]')[1];
      window.__secondPointer = [];
      element.__pharosChart.on('updateAxisPointer', (event) => window.__secondPointer.push(event.axesInfo?.[0]?.value ?? null));
      window.__secondCanvas = element.querySelector('canvas').toDataURL();
    });
    const firstCanvas = panelTitled(page, 'First').locator('canvas').first();
    const box = await firstCanvas.boundingBox();
    await page.mouse.move(box.x + box.width * 0.3, box.y + box.height * 0.5);
    await page.mouse.move(box.x + box.width * 0.5, box.y + box.height * 0.5, { steps: 5 });
    const values = await eventually(
      () => page.evaluate(() => (window.__secondPointer.some((v) => v !== null) ? window.__secondPointer.filter((v) => v !== null) : undefined)),
      5_000,
      'the second chart got the crosshair position',
    );
    const [axis] = before[1].xAxis;
    const value = values[values.length - 1];
    assert.ok(value > axis.min && value < axis.max, `crosshair at ${value} inside [${axis.min}, ${axis.max}]`);
    // Half-way across the first chart is about half-way through the hour on the second.
    const fraction = (value - axis.min) / (axis.max - axis.min);
    assert.ok(fraction > 0.35 && fraction < 0.65, `crosshair at ${fraction} of the second chart`);
    const changed = await page.evaluate(() => {
      const element = document.querySelectorAll('[data-testid="panel"] [_echarts_instance_]')[1];
      return element.querySelector('canvas').toDataURL() !== window.__secondCanvas;
    });
    assert.ok(changed, 'the second chart draws the crosshair');
    await screenshot(page, 'overlays-03-crosshair');

    // Drag over the middle of the first chart: the dashboard's range becomes that stretch, both follow.
    await page.mouse.move(box.x + box.width * 0.4, box.y + box.height * 0.5);
    await page.mouse.down();
    await page.mouse.move(box.x + box.width * 0.7, box.y + box.height * 0.5, { steps: 8 });
    await page.mouse.up();
    await eventually(() => /[?&]end=\d+/.test(page.url()), 10_000, `an absolute range in the address (${page.url()})`);
    const url = new URL(page.url());
    const [start, end] = ['start', 'end'].map((k) => Number(url.searchParams.get(k)));
    assert.ok(end - start > 10 * 60_000 && end - start < 25 * 60_000, `about a third of the hour: ${end - start} ms`);
    const after = await eventually(
      async () => {
        const now = await charts(page);
        return now.length === 2 && now.every((c) => c.chart && c.xAxis[0] && c.xAxis[0].max - c.xAxis[0].min < 30 * 60_000) ? now : undefined;
      },
      15_000,
      'both charts show the zoomed range',
    );
    for (const c of after) {
      const [x] = c.xAxis;
      // The charts' axes are the queries' step-aligned range (a minute here).
      assert.ok(Math.abs(x.min - start) <= 60_000 && Math.abs(x.max - end) <= 60_000, `${c.title}: [${x.min}, ${x.max}] vs [${start}, ${end}]`);
    }
    await screenshot(page, 'overlays-04-zoomed');
    expectProblems(problems, page);
    await page.close();
  });
});
