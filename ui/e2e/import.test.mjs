// Browser tests of importing Grafana dashboards through the import page (docs/user/grafana-import.md,
// "In the UI") and of a dashboard's Export and Clone… actions (docs/user/ui.md). The conversion,
// its panel count by kind and its loss report are shown before anything is saved; the saved
// dashboard opens with its panels. No peers needed: panels over the `local` datasource may show
// "No data", so these tests check structure and console errors, not data.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import {
  REPO_ROOT,
  expectProblems,
  launchBrowser,
  logIn,
  panelStates,
  screenshot,
  startPharos,
  writeArtifact,
} from './harness.mjs';

const PROJECT = 'imports';
const OTHER = 'imports-b';
const GRAFANA = join(REPO_ROOT, '../shared/reference/grafana');

/** The titles of the panels a dashboard shows when opened (those of its open groups), sorted. */
function visibleTitles(dashboard) {
  return (dashboard.spec.layouts ?? [])
    .filter((layout) => layout.spec.display?.collapse?.open !== false)
    .flatMap((layout) => layout.spec.items ?? [])
    .map((item) => dashboard.spec.panels[item.content.$ref.split('/').pop()].spec.display?.name ?? '')
    .sort();
}

const MIGRATE_REFUSED = { text: /status of 400/, resource: /\/api\/migrate\?report=true$/ };

/** No panel says its plugin is missing: the heat map and pie chart plugins are bundled. */
async function noMissingPlugins(page) {
  assert.equal(await page.getByText(/plugin for kind 'Panel' is not installed/).count(), 0);
}

describe('Grafana import, export and clone in the UI', () => {
  let pharos;
  let browser;
  let context;
  let problems;

  const stored = (project, name) => pharos.api('GET', `/api/v1/projects/${project}/dashboards/${name}`);

  before(async () => {
    pharos = await startPharos();
    for (const name of [PROJECT, OTHER]) {
      const project = await pharos.api('POST', '/api/v1/projects', { kind: 'Project', metadata: { name }, spec: {} });
      assert.equal(project.status, 200, project.text);
    }
    ({ browser, context, problems } = await launchBrowser());
    await logIn(context, pharos, problems);
  });

  after(async () => {
    await browser?.close();
    await pharos?.stop();
  });

  /** Opens the import page for PROJECT with a tall viewport (every panel of the result on screen). */
  const importPage = async () => {
    const page = await context.newPage();
    await page.setViewportSize({ width: 1600, height: 4000 });
    await page.goto(`${pharos.base}/import?project=${PROJECT}`);
    await page.getByTestId('import-file').waitFor({ state: 'attached' });
    return page;
  };

  /**
   * Waits until the page shows the panels of the dashboard's open groups (Perses draws a panel
   * once it is on screen) and returns their states. Their data is not checked: nothing here has
   * the series the imported dashboards query.
   */
  const shownPanels = async (page, dashboard, name) => {
    const expected = visibleTitles(dashboard);
    const deadline = Date.now() + 60_000;
    let states = [];
    while (Date.now() < deadline) {
      states = await panelStates(page);
      if (states.length >= expected.length) break;
      await page.waitForTimeout(500);
    }
    // Time for the panels' first queries to come back (and for anything they log).
    await page.waitForTimeout(3000);
    states = await panelStates(page);
    writeArtifact(`import-${name}-panels.json`, states);
    assert.deepEqual(states.map((s) => s.title).sort(), expected, `${name}: the panels on the page`);
    return states;
  };

  /** Saves what the import page shows under `name` and waits for the dashboard to open. */
  const saveAs = async (page, name) => {
    await page.getByTestId('import-name').fill(name);
    await page.getByRole('button', { name: 'Save', exact: true }).click();
    await page.waitForURL(new RegExp(`/projects/${PROJECT}/dashboards/${name}(\\?|$)`));
    await page.getByTestId('dashboard-title').waitFor();
  };

  test('a Grafana dashboard: converted, nothing lost but its classic-bucket heat maps, saved, opened with its panels', async () => {
    const page = await importPage();
    // One that loses nothing first: the page says so.
    await page.getByTestId('import-file').setInputFiles(join(GRAFANA, 'argo-workflows.json'));
    await page.getByTestId('import-nothing-lost').waitFor();
    assert.equal(await page.getByTestId('import-losses').count(), 0);
    await page.getByTestId('import-file').setInputFiles(join(GRAFANA, 'vllm-model-metrics.json'));
    const report = page.getByTestId('import-conversion');
    await report.getByText('Converted from Grafana: “vLLM Inference Observability”, 12 panels').waitFor();
    // Its two heat maps read classic `_bucket` series, which Perses' heat map cannot draw: reported.
    await page.getByTestId('import-losses').waitFor();
    const lossRows = await page.getByTestId('import-loss-row').allInnerTexts();
    assert.equal(lossRows.length, 2, JSON.stringify(lossRows));
    assert.ok(lossRows.every((row) => /native histograms/.test(row)), JSON.stringify(lossRows));
    const kinds = await page.getByTestId('import-panel-kinds').locator('[data-kind]').evaluateAll((items) =>
      Object.fromEntries(items.map((item) => [item.getAttribute('data-kind'), item.textContent])),
    );
    assert.deepEqual(kinds, { TimeSeriesChart: '10 time series chart', HeatMapChart: '2 heat map chart' });
    // The name is the converted one until changed; nothing is stored yet.
    assert.match(await page.getByTestId('import-name').inputValue(), /^[0-9a-f-]{36}$/);
    assert.equal((await pharos.api('GET', `/api/v1/projects/${PROJECT}/dashboards?metadata_only=true`)).json.length, 0);
    await screenshot(page, 'import-01-grafana-nothing-lost');

    await saveAs(page, 'vllm-from-grafana');
    assert.equal(await page.getByTestId('dashboard-title').innerText(), 'vLLM Inference Observability');
    const saved = await stored(PROJECT, 'vllm-from-grafana');
    assert.equal(saved.status, 200, saved.text);
    assert.equal(Object.keys(saved.json.spec.panels).length, 12);
    await shownPanels(page, saved.json, 'vllm-from-grafana');
    // The two Grafana heat maps are Perses heat map panels, drawn by the bundled plugin.
    await noMissingPlugins(page);
    await screenshot(page, 'import-02-grafana-saved');
    expectProblems(problems, page);
    await page.close();
  });

  test('a Grafana dashboard with losses: the loss report is shown before saving', async () => {
    const file = join(GRAFANA, 'kuberay-operator.json');
    const expected = await pharos.api('POST', '/api/migrate?report=true', { grafanaDashboard: JSON.parse(readFileSync(file, 'utf8')) });
    assert.equal(expected.status, 200, expected.text);
    assert.ok(expected.json.losses.length > 0, 'the kuberay dashboard is expected to lose something');

    const page = await importPage();
    await page.getByTestId('import-file').setInputFiles(file);
    await page.getByTestId('import-losses').waitFor();
    const rows = page.getByTestId('import-loss-row');
    assert.equal(await rows.count(), expected.json.losses.length);
    const first = expected.json.losses[0];
    assert.deepEqual(await rows.first().locator('td').allInnerTexts(), [first.location, first.what, first.why]);
    await page.getByText(`Not carried over (${expected.json.losses.length})`).waitFor();
    assert.equal(await page.getByTestId('import-nothing-lost').count(), 0);
    assert.equal(await page.getByTestId('import-name').inputValue(), 'kuberay_operator');
    // Its queries name Grafana's datasources ("prometheus", a uid): by default they are dropped so
    // that the project's default datasource answers.
    assert.ok(await page.getByTestId('import-default-datasource').locator('input').isChecked());
    assert.equal((await stored(PROJECT, 'kuberay_operator')).status, 404, 'nothing is stored before Save');
    await screenshot(page, 'import-03-grafana-losses');

    await saveAs(page, 'kuberay_operator');
    assert.equal(await page.getByTestId('dashboard-title').innerText(), 'KubeRay Operator');
    const saved = await stored(PROJECT, 'kuberay_operator');
    assert.equal(saved.status, 200, saved.text);
    assert.doesNotMatch(JSON.stringify(saved.json.spec.panels), /"datasource":\{"kind":"PrometheusDatasource","name"/);
    const states = await shownPanels(page, saved.json, 'kuberay_operator');
    assert.ok(states.length > 0);
    // The pie chart is a Perses pie chart panel (bundled), not an error.
    assert.ok(!states.some((s) => /not installed/.test(s.error ?? '')), JSON.stringify(states));
    await noMissingPlugins(page);
    await screenshot(page, 'import-04-grafana-losses-saved');
    expectProblems(problems, page);
    await page.close();
  });

  test('JSON that is not a Grafana dashboard: the server says what it is', async () => {
    const page = await importPage();
    await page.getByTestId('import-text').fill('{"foo": 1}');
    const notice = page.getByTestId('error-notice');
    await notice.getByText(/not a Grafana dashboard: an object without `panels`, `rows` or `title` \(keys: foo\)/).waitFor();
    await screenshot(page, 'import-05-not-a-dashboard');
    const alertRule = {
      uid: 'gpu-hot',
      title: 'GPU too hot',
      condition: 'C',
      data: [{ refId: 'A', datasourceUid: 'prom', model: { expr: 'DCGM_FI_DEV_GPU_TEMP > 85' } }],
      for: '5m',
      noDataState: 'NoData',
      execErrState: 'Alerting',
      folderUID: 'gpus',
      ruleGroup: 'gpu',
    };
    await page.getByTestId('import-file').setInputFiles({ name: 'alert-rule.json', mimeType: 'application/json', buffer: Buffer.from(JSON.stringify(alertRule)) });
    await notice.getByText(/this looks like a Grafana alert rule or rule group/).waitFor();
    assert.equal(await page.getByTestId('import-conversion').count(), 0);
    assert.ok(await page.getByRole('button', { name: 'Import', exact: true }).isDisabled());
    expectProblems(problems, page, [MIGRATE_REFUSED]);
    await page.close();
  });

  test('Export downloads the stored dashboard as JSON and YAML; Clone… copies it into another project', async () => {
    // The dashboard of the first test, or a fresh import when this test runs alone.
    if ((await stored(PROJECT, 'vllm-from-grafana')).status !== 200) {
      const migrated = await pharos.api('POST', '/api/migrate', { grafanaDashboard: JSON.parse(readFileSync(join(GRAFANA, 'vllm-model-metrics.json'), 'utf8')) });
      const dashboard = { ...migrated.json, metadata: { name: 'vllm-from-grafana', project: PROJECT } };
      assert.equal((await pharos.api('POST', `/api/v1/projects/${PROJECT}/dashboards`, dashboard)).status, 200);
    }
    const page = await context.newPage();
    await page.goto(`${pharos.base}/projects/${PROJECT}/dashboards/vllm-from-grafana`);
    await page.getByTestId('dashboard-title').waitFor();

    const download = async (format) => {
      const event = page.waitForEvent('download');
      await page.getByTestId('export-button').click();
      await page.getByTestId(`export-${format}`).click();
      const file = await event;
      return { name: file.suggestedFilename(), text: readFileSync(await file.path(), 'utf8') };
    };
    const json = await download('json');
    assert.equal(json.name, `${PROJECT}-vllm-from-grafana.json`);
    const exported = JSON.parse(json.text);
    assert.equal(exported.kind, 'Dashboard');
    assert.equal(exported.metadata.name, 'vllm-from-grafana');
    assert.equal(Object.keys(exported.spec.panels).length, 12);
    const yaml = await download('yaml');
    assert.equal(yaml.name, `${PROJECT}-vllm-from-grafana.yaml`);
    assert.match(yaml.text, /^kind: Dashboard$/m);
    assert.match(yaml.text, /^ {2}name: vllm-from-grafana$/m);

    await page.getByTestId('clone-button').click();
    const dialog = page.getByRole('dialog', { name: 'Clone this dashboard' });
    assert.equal(await page.getByTestId('clone-name').inputValue(), 'vllm-from-grafana-copy');
    // A name the target project already has: the server's refusal, in the dialog.
    await page.getByTestId('clone-name').fill('vllm-from-grafana');
    await page.getByTestId('clone-submit').click();
    await dialog.getByText(/already has a dashboard named “vllm-from-grafana”/).waitFor();
    await dialog.getByRole('combobox', { name: 'Into project' }).click();
    await page.getByRole('option', { name: OTHER, exact: true }).click();
    await page.getByTestId('clone-name').fill('vllm-copy');
    await screenshot(page, 'import-06-clone-dialog');
    await page.getByTestId('clone-submit').click();
    await page.waitForURL(new RegExp(`/projects/${OTHER}/dashboards/vllm-copy(\\?|$)`));
    await page.getByTestId('dashboard-title').waitFor();
    const copy = await stored(OTHER, 'vllm-copy');
    assert.equal(copy.status, 200, copy.text);
    assert.equal(await page.getByTestId('dashboard-title').innerText(), copy.json.spec.display?.name ?? 'vllm-copy');
    assert.equal(Object.keys(copy.json.spec.panels).length, 12);
    await page.locator('[data-testid="panel"]').first().waitFor();
    await screenshot(page, 'import-07-clone-opened');
    expectProblems(problems, page, [{ text: /status of 409/, resource: /\/dashboards\/vllm-from-grafana\/clone$/ }]);
    await page.close();
  });
});
