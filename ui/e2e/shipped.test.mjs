// Every dashboard pharos ships opens in the browser with every panel drawn: on a fresh data
// directory with the simulator on (the demo dashboard, and any template seeded the same way),
// each dashboard is opened and each panel must show data: no error, no "No data", no console or
// page error. Needs no peers: the data is the simulator's.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { expectProblems, launchBrowser, logIn, panelDrawn, screenshot, startPharos, waitForPanelsSettled, writeArtifact } from './harness.mjs';

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

describe('shipped dashboards', () => {
  let pharos;
  let browser;
  let context;
  let problems;

  before(async () => {
    pharos = await startPharos({ demo: true });
    ({ browser, context, problems } = await launchBrowser());
    await logIn(context, pharos, problems);
    // The simulator backfills 6 h before it goes live: wait until both the oldest and the newest
    // part of that history answer (the demo dashboard shows the last 6 h).
    const deadline = Date.now() + 240_000;
    for (;;) {
      const [old, recent] = await Promise.all(
        ['count(DCGM_FI_DEV_GPU_UTIL offset 5h)', 'count(DCGM_FI_DEV_GPU_UTIL)'].map(async (query) => {
          const answer = await pharos.api('GET', `/api/v1/query?query=${encodeURIComponent(query)}`);
          return answer.json?.data?.result?.length ?? 0;
        }),
      );
      if (old > 0 && recent > 0) break;
      assert.ok(Date.now() < deadline, 'the simulated history was not written within 240 s');
      await sleep(1000);
    }
  });

  after(async () => {
    await browser?.close();
    await pharos?.stop();
  });

  test('every dashboard of a fresh installation draws every panel', async () => {
    // On a fresh data directory every dashboard that exists was shipped with pharos.
    const listed = await pharos.api('GET', '/api/v1/dashboards');
    assert.equal(listed.status, 200, listed.text);
    const dashboards = listed.json.map((d) => ({ project: d.metadata.project, name: d.metadata.name, panels: Object.keys(d.spec.panels ?? {}).length }));
    assert.ok(
      dashboards.some((d) => d.project === 'demo' && d.name === 'ai-platform-overview'),
      `the demo dashboard was not created: ${JSON.stringify(dashboards)} (see e2e/artifacts/pharos.log)`,
    );
    const failures = [];
    for (const dashboard of dashboards) {
      const page = await context.newPage();
      // Tall enough for every panel: Perses only queries and draws panels on screen.
      await page.setViewportSize({ width: 1600, height: 2400 });
      // Auto-refresh off: each refresh gives every query a new key, so all panels show their
      // loading skeleton again until the new answers are drawn (10-25 s on a loaded machine).
      await page.goto(`${pharos.base}/projects/${dashboard.project}/dashboards/${dashboard.name}?refresh=0s`);
      await page.getByTestId('dashboard-title').waitFor();
      const states = await waitForPanelsSettled(page, 150_000);
      await screenshot(page, `shipped-${dashboard.project}-${dashboard.name}`);
      writeArtifact(`shipped-${dashboard.project}-${dashboard.name}.json`, { dashboard, states });
      assert.equal(states.length, dashboard.panels, `${dashboard.name}: panels on the page ${JSON.stringify(states.map((s) => s.title))}`);
      for (const state of states.filter((s) => !panelDrawn(s))) failures.push({ dashboard: dashboard.name, ...state });
      try {
        expectProblems(problems, page, []);
      } catch (error) {
        failures.push({ dashboard: dashboard.name, browserProblems: error.message });
      }
      await page.close();
    }
    assert.deepEqual(failures, [], 'panels that did not draw their data, and console or page errors');
  });
});
