// UI actions shared by the browser tests: what a person does with the mouse and keyboard.
import assert from 'node:assert/strict';
import { coloredPixelsPerCanvas } from './harness.mjs';

/**
 * Adds a time-series panel through the Perses panel editor (the dashboard is in edit mode),
 * querying `datasource` (a name from the editor's list) or the default one.
 */
export async function addTimeSeriesPanel(page, name, query, datasource) {
  await page.locator('button[aria-label="Add panel"]').first().click();
  await page.getByLabel('Name').fill(name);
  await page.getByRole('combobox', { name: /Type/ }).click();
  await page.getByRole('option', { name: 'Time Series Chart' }).click();
  if (datasource) {
    await page.getByRole('combobox', { name: /Prometheus Datasource/ }).click();
    await page.getByRole('option', { name: new RegExp(datasource) }).first().click();
  }
  const editor = page.locator('.cm-content').first();
  await editor.click();
  // insertText types it as one input, so the editor's bracket auto-closing does not interfere.
  await page.keyboard.insertText(query);
  // The PromQL editor commits its text on blur.
  await page.getByLabel('Name').click();
  await page.getByRole('button', { name: 'Add', exact: true }).click();
  await page.locator(`text=${name}`).first().waitFor();
}

/** Waits until `count` canvases show colored (series) pixels; returns the pixel counts. */
export async function waitForChartsWithData(page, count, timeoutMs = 20_000) {
  const deadline = Date.now() + timeoutMs;
  let pixels = [];
  while (Date.now() < deadline) {
    pixels = await coloredPixelsPerCanvas(page);
    if (pixels.filter((n) => n > 20).length >= count) return pixels;
    await page.waitForTimeout(200);
  }
  assert.fail(`expected ${count} chart(s) with drawn series, colored pixels per canvas: ${JSON.stringify(pixels)}`);
}

/** Clicks the toolbar's Save and waits for the answer of the PUT it sends. */
export async function saveDashboard(page) {
  const answer = page.waitForResponse((r) => r.request().method() === 'PUT' && r.url().includes('/api/v1/projects/'));
  await page.getByRole('button', { name: 'Save', exact: true }).click();
  // Perses asks whether to keep a changed time range as the default; keep the stored one.
  const dialog = page.getByRole('dialog').filter({ hasText: 'Save Dashboard' });
  if (await dialog.isVisible().catch(() => false)) {
    await dialog.getByRole('button', { name: 'Save Changes' }).click();
  }
  return answer;
}

/** A dashboard of time-series panels ("Panel 1", ...), two per row, one per query. */
export function timeSeriesDashboard(project, name, datasource, queries, title = name) {
  const panels = {};
  const items = [];
  queries.forEach((query, i) => {
    const id = `panel${i}`;
    panels[id] = {
      kind: 'Panel',
      spec: {
        display: { name: `Panel ${i + 1}` },
        plugin: { kind: 'TimeSeriesChart', spec: {} },
        queries: [
          {
            kind: 'TimeSeriesQuery',
            spec: {
              plugin: {
                kind: 'PrometheusTimeSeriesQuery',
                spec: { query, datasource: { kind: 'PrometheusDatasource', name: datasource } },
              },
            },
          },
        ],
      },
    };
    items.push({ x: (i % 2) * 12, y: Math.floor(i / 2) * 6, width: 12, height: 6, content: { $ref: `#/spec/panels/${id}` } });
  });
  return {
    kind: 'Dashboard',
    metadata: { name, project },
    spec: {
      display: { name: title },
      duration: '1h',
      variables: [],
      panels,
      layouts: [{ kind: 'Grid', spec: { display: { title: 'Panels', collapse: { open: true } }, items } }],
    },
  };
}

/** An 8-panel dashboard over the peers' backfilled tenant series (for the load-time figures). */
export function eightPanelDashboard(project, name, datasource) {
  const queries = [
    'rate(pharos_test_requests_total[5m])',
    'pharos_test_queue_depth',
    'sum by (pod) (rate(pharos_test_requests_total[5m]))',
    'max by (pod) (pharos_test_queue_depth)',
    'increase(pharos_test_requests_total[1h])',
    'avg_over_time(pharos_test_queue_depth[10m])',
    'pharos_test_requests_total',
    'min_over_time(pharos_test_queue_depth[30m])',
  ];
  return timeSeriesDashboard(project, name, datasource, queries, 'Eight panels');
}

/** p50/p95/max of a list of milliseconds. */
export function summarize(values) {
  const sorted = [...values].sort((a, b) => a - b);
  const at = (q) => sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)];
  return { runs: sorted.length, p50: Math.round(at(0.5)), p95: Math.round(at(0.95)), max: Math.round(sorted[sorted.length - 1]) };
}
