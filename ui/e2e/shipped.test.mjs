// Every dashboard pharos ships opens in the browser with every panel drawn: on a fresh data
// directory with the simulator on (the demo dashboard, and every system template, which the server
// instantiates in the demo project once the simulated history is written), each dashboard is
// opened and each panel must show data: no error, no "No data", no console or page error. Then a
// dashboard made through the template gallery and its form draws its data too, timed from opening
// the gallery. Needs no peers: the data is the simulator's.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { expectProblems, launchBrowser, logIn, panelDrawn, screenshot, startPharos, waitForPanelsSettled, writeArtifact } from './harness.mjs';

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

describe('shipped dashboards', () => {
  let pharos;
  let browser;
  let context;
  let problems;
  let templateIds = [];

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
    // Then the server instantiates every system template in the demo project (named by its id).
    const templates = await pharos.api('GET', '/api/v1/templates');
    assert.equal(templates.status, 200, templates.text);
    templateIds = templates.json.map((t) => t.id);
    assert.equal(templateIds.length, 7, `system templates: ${templateIds}`);
    for (;;) {
      const listed = await pharos.api('GET', '/api/v1/projects/demo/dashboards?metadata_only=true');
      assert.equal(listed.status, 200, listed.text);
      const names = new Set(listed.json.map((d) => d.metadata.name));
      const missing = templateIds.filter((id) => !names.has(id));
      if (missing.length === 0) break;
      assert.ok(Date.now() < deadline, `the demo project has no dashboard of the templates ${missing} after 240 s (see e2e/artifacts/pharos.log)`);
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
    for (const name of ['ai-platform-overview', ...templateIds]) {
      assert.ok(
        dashboards.some((d) => d.project === 'demo' && d.name === name),
        `the demo dashboard ${name} was not created: ${JSON.stringify(dashboards)} (see e2e/artifacts/pharos.log)`,
      );
    }
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

  test('the simulated clusters are in the fleet: every fleet page opens with their health and GPUs', async () => {
    // The demo registers its clusters once the history is written (after the templates).
    const deadline = Date.now() + 60_000;
    let clusters;
    for (;;) {
      const listed = await pharos.api('GET', '/api/v1/clusters');
      assert.equal(listed.status, 200, listed.text);
      clusters = listed.json.items ?? listed.json;
      if (clusters.length === 3 && clusters.every((c) => c.status.state === 'healthy')) break;
      assert.ok(Date.now() < deadline, `the demo clusters are not all healthy after 60 s: ${listed.text}`);
      await sleep(1000);
    }
    const names = clusters.map((c) => c.name).sort();
    const page = await context.newPage();
    await page.setViewportSize({ width: 1600, height: 1200 });
    await page.goto(`${pharos.base}/fleet`);
    await page.getByTestId('cluster-tile').first().waitFor();
    const tiles = await page.getByTestId('cluster-tile').evaluateAll((ts) => ts.map((t) => `${t.dataset.cluster}:${t.dataset.state}`).sort());
    assert.deepEqual(tiles, names.map((n) => `${n}:healthy`));
    await screenshot(page, 'shipped-fleet-overview');
    expectProblems(problems, page, []);

    await page.goto(`${pharos.base}/fleet/clusters`);
    await page.getByTestId('cluster-row').first().waitFor();
    assert.equal(await page.getByTestId('cluster-row').count(), 3);
    expectProblems(problems, page, []);

    await page.goto(`${pharos.base}/fleet/alerts`);
    await page.locator('[data-testid="alerts"], [data-testid="alerts-empty"]').first().waitFor();
    expectProblems(problems, page, []);

    const summary = await pharos.api('GET', '/api/v1/gpu/summary');
    assert.equal(summary.status, 200, summary.text);
    await page.goto(`${pharos.base}/fleet/gpus`);
    await page.getByTestId('gpu-card').first().waitFor();
    const cards = await page.getByTestId('gpu-card').evaluateAll((cs) => cs.map((c) => `${c.dataset.cluster}/${c.dataset.model}`).sort());
    assert.deepEqual(cards, summary.json.groups.map((g) => `${g.cluster}/${g.gpu_model}`).sort());
    const gpus = await page.getByTestId('gpu-card-gpus').evaluateAll((cs) => cs.reduce((n, c) => n + Number(c.dataset.value), 0));
    assert.equal(gpus, summary.json.totals.gpus);
    assert.ok(gpus > 0, 'the simulator has GPUs');
    await screenshot(page, 'shipped-fleet-gpus');
    expectProblems(problems, page, []);
    await page.close();
  });

  test('the assistant opens without a model, and root-cause analysis explains the demo hours without one', async () => {
    const page = await context.newPage();
    await page.goto(`${pharos.base}/assistant`);
    await page.getByTestId('assistant-llm-notice').waitFor();
    assert.match(await page.getByTestId('assistant-llm-notice').innerText(), /No language model is configured/);
    assert.equal(await page.getByTestId('chat-send').isDisabled(), true);
    expectProblems(problems, page, []);
    await page.close();
    // The simulator injects an incident every 20-50 minutes; six hours hold several, and each
    // one the analysis reports names a suspect with evidence (queries and their values).
    const rca = await pharos.api('POST', '/api/v1/analysis/rca', { start: 'now-5h' });
    assert.equal(rca.status, 200, rca.text);
    assert.ok(rca.json.incidents.length >= 2, `incidents in 5 simulated hours: ${rca.text.slice(0, 400)}`);
    for (const suspect of rca.json.suspects) {
      assert.ok(suspect.evidence.length > 0, `a suspect without evidence: ${JSON.stringify(suspect)}`);
      assert.ok(suspect.evidence.every((e) => e.query), JSON.stringify(suspect.evidence));
    }
    assert.match(rca.json.report_markdown, /^# Root-cause analysis/);
  });

  test('a dashboard made from the gallery (LLM serving: vLLM) draws every panel', async () => {
    const templates = await pharos.api('GET', '/api/v1/templates?category=llm-serving');
    const vllm = templates.json.find((t) => t.id === 'llm-serving-vllm');
    assert.ok(vllm, `no llm-serving-vllm template: ${templates.text}`);
    const name = 'vllm-from-gallery';
    const page = await context.newPage();
    // Tall enough for every panel (see above).
    await page.setViewportSize({ width: 1600, height: 2400 });
    const started = Date.now();
    await page.goto(`${pharos.base}/templates`);
    const card = page.locator(`[data-testid="template-card"][data-template-id="${vllm.id}"]`);
    await card.getByText(vllm.title).waitFor();
    const all = await pharos.api('GET', '/api/v1/templates');
    assert.equal(await page.getByTestId('template-card').count(), all.json.length);
    await screenshot(page, 'shipped-gallery');
    // The category filter lives in the address.
    await page.getByTestId('template-category-llm-serving').click();
    await page.waitForURL(/\/templates\?category=llm-serving$/);
    await page.getByTestId('template-card').first().waitFor();
    assert.deepEqual(
      await page.getByTestId('template-card').evaluateAll((cards) => cards.map((c) => c.getAttribute('data-template-id'))),
      templates.json.map((t) => t.id),
    );
    await card.click();
    await page.waitForURL(new RegExp(`/templates/${vllm.id}`));
    const form = page.getByTestId('template-form');
    await form.waitFor();

    await form.getByRole('combobox', { name: 'Project' }).click();
    await page.getByRole('option', { name: 'demo', exact: true }).click();
    await page.getByTestId('template-name').fill(name);
    // The values the project's datasource has, each list narrowed by the choices before it.
    const pick = async (variable) => {
      await page.getByTestId(`template-variable-input-${variable}`).click();
      const option = page.getByRole('listbox').getByRole('option').first();
      await option.waitFor();
      const value = await option.innerText();
      await option.click();
      assert.equal(await page.getByTestId(`template-variable-input-${variable}`).inputValue(), value);
      return value;
    };
    const namespace = await pick('namespace');
    const model = await pick('model');
    await screenshot(page, 'shipped-template-form');
    await page.getByTestId('template-create').click();
    await page.waitForURL(new RegExp(`/projects/demo/dashboards/${name}(\\?|$)`));
    await page.getByTestId('dashboard-title').waitFor();
    const states = await waitForPanelsSettled(page, 150_000);
    const elapsed = Date.now() - started;
    await screenshot(page, 'shipped-from-gallery');

    const created = await pharos.api('GET', `/api/v1/projects/demo/dashboards/${name}`);
    assert.equal(created.status, 200, created.text);
    const values = Object.fromEntries(created.json.spec.variables.map((v) => [v.spec.name, v.spec.defaultValue]));
    assert.equal(values.namespace, namespace);
    assert.equal(values.model, model);
    writeArtifact('shipped-from-gallery.json', { namespace, model, elapsedMs: elapsed, states });
    console.log(`gallery → every panel of "${name}" drawn: ${(elapsed / 1000).toFixed(1)} s (namespace ${namespace}, model ${model})`);
    assert.equal(states.length, vllm.panels.length, `panels on the page ${JSON.stringify(states.map((s) => s.title))}`);
    assert.deepEqual(states.filter((s) => !panelDrawn(s)), [], 'panels that did not draw their data');
    assert.ok(elapsed < 150_000, `from opening the gallery to every panel drawn took ${elapsed} ms`);
    expectProblems(problems, page, []);
    await page.close();
  });

  test('a workload found in the project opens its template filled in; a dashboard saved as a template makes new ones', async () => {
    const found = await pharos.api('GET', '/api/v1/projects/demo/workloads');
    assert.equal(found.status, 200, found.text);
    const chat = found.json.workloads.find((w) => w.kind === 'InferenceService' && w.template === 'llm-serving-vllm');
    assert.ok(chat, `no vLLM InferenceService among ${found.text}`);
    const page = await context.newPage();
    await page.setViewportSize({ width: 1600, height: 2400 });
    await page.goto(`${pharos.base}/templates?project=demo`);
    const row = page.locator(`[data-testid="workload-row"][data-workload="${chat.name}"]`);
    await row.waitFor();
    assert.equal(await page.getByTestId('workload-row').count(), found.json.workloads.length);
    await screenshot(page, 'shipped-workloads');
    await row.getByTestId('workload-open-template').click();
    await page.waitForURL(/\/templates\/llm-serving-vllm\?/);
    await page.getByTestId('template-form').waitFor();
    // The workload's values are filled in: namespace and model.
    for (const [variable, value] of Object.entries(chat.variables)) {
      assert.equal(await page.getByTestId(`template-variable-input-${variable}`).inputValue(), value, variable);
    }
    await page.getByTestId('template-name').fill('chat-from-workload');
    await page.getByTestId('template-create').click();
    await page.waitForURL(/\/projects\/demo\/dashboards\/chat-from-workload(\?|$)/);
    const states = await waitForPanelsSettled(page, 150_000);
    assert.deepEqual(states.filter((s) => !panelDrawn(s)), [], 'panels that did not draw their data');

    // Save it as a template of the project; it joins the gallery and makes a new dashboard.
    await page.getByTestId('save-template-button').click();
    await page.getByTestId('template-save-name').fill('chat-serving');
    await page.getByTestId('template-save-title').fill('Our chat serving');
    await page.getByTestId('template-save-submit').click();
    await page.getByTestId('template-saved').waitFor();
    const saved = await pharos.api('GET', '/api/v1/projects/demo/templates/chat-serving');
    assert.equal(saved.status, 200, saved.text);
    assert.equal(saved.json.spec.display.name, 'Our chat serving');
    await page.goto(`${pharos.base}/templates?project=demo`);
    const card = page.locator('[data-testid="template-card"][data-template-id="chat-serving"]');
    await card.getByText('Our chat serving').waitFor();
    assert.match(await card.getByTestId('template-source').innerText(), /project demo/);
    await card.click();
    await page.waitForURL(/\/templates\/chat-serving\?.*from=demo/);
    await page.getByTestId('template-name').fill('chat-from-saved-template');
    await page.getByTestId('template-create').click();
    await page.waitForURL(/\/projects\/demo\/dashboards\/chat-from-saved-template(\?|$)/);
    const again = await waitForPanelsSettled(page, 150_000);
    assert.equal(again.length, states.length);
    assert.deepEqual(again.filter((s) => !panelDrawn(s)), [], 'panels of the dashboard made from the saved template');
    await screenshot(page, 'shipped-from-saved-template');
    expectProblems(problems, page, []);
    await page.close();
  });
});
