// Browser tests of the user features in docs/user/ui.md that need no metrics: projects, search and
// sort, trash, history, datasource pages, time range and URL state, Cancel, leaving with unsaved
// edits, importing pasted YAML. Each test creates what it uses through the API. No peers needed.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { expectProblems, launchBrowser, logIn, nextDialog, screenshot, startPharos } from './harness.mjs';

const PROJECT = 'features';

/** A dashboard with one Markdown panel (draws without any datasource). */
function markdownDashboard(name, title, text = 'Hello from the **features** test') {
  return {
    kind: 'Dashboard',
    metadata: { name, project: PROJECT },
    spec: {
      display: { name: title },
      duration: '1h',
      panels: { notes: { kind: 'Panel', spec: { display: { name: 'Notes' }, plugin: { kind: 'Markdown', spec: { text } } } } },
      layouts: [{ kind: 'Grid', spec: { items: [{ x: 0, y: 0, width: 12, height: 6, content: { $ref: '#/spec/panels/notes' } }] } }],
    },
  };
}

describe('web UI features', () => {
  let pharos;
  let browser;
  let context;
  let problems;

  const create = async (dashboard) => {
    const answer = await pharos.api('POST', `/api/v1/projects/${PROJECT}/dashboards`, dashboard);
    assert.equal(answer.status, 200, answer.text);
    return answer;
  };
  const stored = (name) => pharos.api('GET', `/api/v1/projects/${PROJECT}/dashboards/${name}`);
  const update = async (name, change) => {
    const current = await stored(name);
    change(current.json);
    const answer = await pharos.api('PUT', `/api/v1/projects/${PROJECT}/dashboards/${name}`, current.json, { 'if-match': current.etag });
    assert.equal(answer.status, 200, answer.text);
  };

  before(async () => {
    pharos = await startPharos();
    const project = await pharos.api('POST', '/api/v1/projects', { kind: 'Project', metadata: { name: PROJECT }, spec: {} });
    assert.equal(project.status, 200, project.text);
    ({ browser, context, problems } = await launchBrowser());
    await logIn(context, pharos, problems);
  });

  after(async () => {
    await browser?.close();
    await pharos?.stop();
  });

  test('New project: created with its namespaces and listed', async () => {
    const page = await context.newPage();
    await page.goto(`${pharos.base}/`);
    await page.getByRole('button', { name: 'New project' }).click();
    const dialog = page.getByRole('dialog');
    await dialog.getByLabel('Name', { exact: true }).fill('team-new');
    await dialog.getByLabel(/Namespaces/).fill('ns-one, ns-two');
    await dialog.getByRole('button', { name: 'Create' }).click();
    await page.waitForURL(/\/projects\/team-new$/);
    await page.getByText('No dashboards in this project yet.').waitFor();
    const project = await pharos.api('GET', '/api/v1/projects/team-new');
    assert.equal(project.status, 200, project.text);
    assert.deepEqual(project.json.spec.namespaces, ['ns-one', 'ns-two']);
    await page.goto(`${pharos.base}/`);
    const row = page.getByRole('row').filter({ has: page.getByRole('link', { name: 'team-new' }) });
    await row.getByText('ns-two').waitFor();
    await screenshot(page, 'features-01-new-project');
    expectProblems(problems, page);
    await page.close();
  });

  test('dashboard list: search by name and sort by name or last update', async () => {
    await create(markdownDashboard('search-alpha', 'Alpha board'));
    await create(markdownDashboard('search-beta', 'Beta board'));
    await create(markdownDashboard('search-gamma', 'Gamma board'));
    await update('search-alpha', (d) => (d.spec.display.description = 'touched last'));
    const page = await context.newPage();
    await page.goto(`${pharos.base}/projects/${PROJECT}`);
    const table = page.getByRole('table', { name: 'Dashboards' });
    const names = async () => (await table.locator('tbody tr td:nth-child(2)').allInnerTexts()).filter((n) => n.startsWith('search-'));
    await table.getByRole('link', { name: 'search-gamma', exact: true }).waitFor();
    assert.deepEqual(await names(), ['search-alpha', 'search-beta', 'search-gamma']);
    const sortBy = async (label) => {
      await page.getByRole('combobox', { name: /^Sort/ }).click();
      await page.getByRole('option', { name: label, exact: true }).click();
    };
    await sortBy('Name Z→A');
    assert.deepEqual(await names(), ['search-gamma', 'search-beta', 'search-alpha']);
    await sortBy('Recently updated');
    assert.equal((await names())[0], 'search-alpha', 'the dashboard updated last comes first');
    await sortBy('Least recently updated');
    assert.equal((await names()).at(-1), 'search-alpha');
    // The search matches the display name too, case-insensitively.
    await page.getByLabel('Search by name').fill('BETA');
    await page.waitForFunction(() => document.querySelectorAll('table[aria-label="Dashboards"] tbody tr').length === 1);
    assert.deepEqual(await names(), ['search-beta']);
    await page.getByLabel('Search by name').fill('no such board');
    await page.getByText('No dashboard matches the search.').waitFor();
    await screenshot(page, 'features-02-search');
    expectProblems(problems, page);
    await page.close();
  });

  test('trash: move a dashboard to the trash, restore it, purge another', async () => {
    await create(markdownDashboard('trash-keep', 'Keep me'));
    await create(markdownDashboard('trash-purge', 'Purge me'));
    const page = await context.newPage();
    await page.goto(`${pharos.base}/projects/${PROJECT}`);
    for (const name of ['trash-keep', 'trash-purge']) {
      await page.getByRole('button', { name: `Delete ${name}` }).click();
      await page.getByRole('dialog').getByRole('button', { name: 'Move to trash' }).click();
      await page.getByRole('button', { name: `Delete ${name}` }).waitFor({ state: 'detached' });
      assert.equal((await stored(name)).status, 404);
    }
    await page.getByRole('link', { name: 'Trash', exact: true }).click();
    const trash = page.getByRole('table', { name: 'Trash' });
    const row = (name) => trash.getByRole('row').filter({ hasText: name });
    await row('trash-keep').waitFor();
    await row('trash-keep').getByRole('button', { name: 'Restore' }).click();
    await page.getByRole('alert').filter({ hasText: 'Restored' }).getByRole('link', { name: 'trash-keep' }).waitFor();
    await row('trash-keep').waitFor({ state: 'detached' });
    const restored = await stored('trash-keep');
    assert.equal(restored.status, 200, restored.text);
    assert.equal(restored.json.spec.display.name, 'Keep me');
    await row('trash-purge').getByRole('button', { name: 'Purge now' }).click();
    await page.getByText('The trash is empty.').waitFor();
    const left = await pharos.api('GET', `/api/v1/projects/${PROJECT}/trash/dashboards`);
    assert.deepEqual(left.json.map((d) => d.metadata.name), []);
    assert.equal((await stored('trash-purge')).status, 404);
    await screenshot(page, 'features-03-trash');
    expectProblems(problems, page);
    await page.close();
  });

  test('history: view an old version and restore it as a new version', async () => {
    await create(markdownDashboard('history', 'First title'));
    await update('history', (d) => (d.spec.display.name = 'Second title'));
    await update('history', (d) => (d.spec.display.name = 'Third title'));
    const page = await context.newPage();
    await page.goto(`${pharos.base}/projects/${PROJECT}/dashboards/history/history`);
    const table = page.getByRole('table', { name: 'Versions' });
    await table.locator('tbody tr').nth(2).waitFor();
    assert.equal(await table.locator('tbody tr').count(), 3);
    const version0 = table.locator('tbody tr').filter({ has: page.getByRole('cell', { name: '0', exact: true }) });
    await version0.getByRole('button', { name: 'View JSON' }).click();
    await page.getByText('"name": "First title"').waitFor();
    await version0.getByRole('button', { name: 'Restore' }).click();
    await page.getByText('Restored: the dashboard is now version 3.').waitFor();
    // The message comes first; the list of versions is then loaded again.
    await table.locator('tbody tr').nth(3).waitFor();
    assert.equal(await table.locator('tbody tr').count(), 4);
    const current = await stored('history');
    assert.equal(current.json.metadata.version, 3);
    assert.equal(current.json.spec.display.name, 'First title');
    await screenshot(page, 'features-04-history-restore');
    expectProblems(problems, page);
    await page.close();
  });

  test('datasource pages: the project\'s and the global ones with upstream and default', async () => {
    const datasource = await pharos.api('POST', `/api/v1/projects/${PROJECT}/datasources`, {
      kind: 'Datasource',
      metadata: { name: 'features-prom', project: PROJECT },
      spec: {
        display: { name: 'Features Prometheus' },
        default: true,
        plugin: { kind: 'PrometheusDatasource', spec: { proxy: { kind: 'HTTPProxy', spec: { url: 'http://127.0.0.1:9/prom' } } } },
      },
    });
    assert.equal(datasource.status, 200, datasource.text);
    const page = await context.newPage();
    await page.goto(`${pharos.base}/projects/${PROJECT}`);
    await page.getByRole('link', { name: 'Datasources', exact: true }).click();
    const row = page.getByRole('table', { name: 'Datasources' }).getByRole('row').filter({ hasText: 'Features Prometheus' });
    await row.waitFor();
    assert.deepEqual(
      (await row.getByRole('cell').allInnerTexts()).map((t) => t.trim()),
      ['Features Prometheus', 'PrometheusDatasource', 'http://127.0.0.1:9/prom', 'default'],
    );
    await page.getByRole('link', { name: 'Global datasources' }).click();
    await page.waitForURL(/\/admin\/datasources$/);
    // The embedded store ("local"), registered at startup as the default global datasource.
    const local = page.getByRole('table', { name: 'Datasources' }).getByRole('row').filter({ hasText: 'Pharos (embedded)' });
    await local.waitFor();
    assert.ok((await local.innerText()).includes('default'), await local.innerText());
    await screenshot(page, 'features-05-datasources');
    expectProblems(problems, page);
    await page.close();
  });

  test('time range preset and refresh interval are kept in the URL and restored from it', async () => {
    await create(markdownDashboard('time', 'Time range'));
    const page = await context.newPage();
    await page.goto(`${pharos.base}/projects/${PROJECT}/dashboards/time`);
    await page.getByText('Hello from the').waitFor();
    await page.getByText('Last 1 hour', { exact: true }).click();
    await page.getByRole('option', { name: 'Last 15 minutes' }).click();
    await page.waitForURL((url) => new URL(url).searchParams.get('start') === '15m');
    // A copied link opens the same view: a fresh page with the URL shows the chosen range.
    const copy = await context.newPage();
    await copy.goto(`${pharos.base}/projects/${PROJECT}/dashboards/time?start=3h&refresh=30s`);
    await copy.getByText('Last 3 hours', { exact: true }).waitFor();
    await copy.getByText('30s', { exact: true }).waitFor();
    await screenshot(copy, 'features-06-url-state');
    expectProblems(problems, page);
    expectProblems(problems, copy);
    await copy.close();
    await page.close();
  });

  test('Cancel asks before discarding edits; leaving with unsaved edits asks first', async () => {
    await create(markdownDashboard('cancel', 'Cancel me'));
    const before = await stored('cancel');
    const page = await context.newPage();
    await page.goto(`${pharos.base}/projects/${PROJECT}/dashboards/cancel`);
    await page.getByRole('button', { name: 'Edit' }).click();
    const addGroup = async (name) => {
      await page.getByRole('button', { name: 'Add panel group' }).click();
      await page.getByRole('dialog').getByLabel('Name').fill(name);
      await page.getByRole('dialog').getByRole('button', { name: 'Add' }).click();
      await page.getByText(name).first().waitFor();
      // While the dialog fades out it hides the toolbar from the accessibility tree, and its own
      // "Cancel" would take the click meant for the toolbar's.
      await page.getByRole('dialog').waitFor({ state: 'detached' });
    };
    await addGroup('Unsaved group');
    const discard = page.getByRole('dialog').filter({ hasText: 'Discard Changes' });

    // Cancel, then keep editing: the edit stays.
    await page.getByRole('button', { name: 'Cancel', exact: true }).click();
    await discard.waitFor();
    await discard.getByRole('button', { name: 'Cancel' }).click();
    await discard.waitFor({ state: 'detached' });
    assert.ok(await page.getByText('Unsaved group').first().isVisible());

    // Navigating inside the app asks too; staying keeps the edits.
    await page.getByRole('link', { name: PROJECT, exact: true }).first().click();
    await discard.getByText('You have unsaved changes').waitFor();
    await discard.getByRole('button', { name: 'Cancel' }).click();
    await discard.waitFor({ state: 'detached' });
    assert.equal(new URL(page.url()).pathname, `/projects/${PROJECT}/dashboards/cancel`);

    // Closing the tab asks the browser's question; dismissing it keeps the page.
    const prompt = nextDialog(page);
    await page.close({ runBeforeUnload: true });
    const dialog = await prompt;
    assert.equal(dialog.type(), 'beforeunload');
    await dialog.dismiss();
    assert.ok(!page.isClosed());
    assert.ok(await page.getByText('Unsaved group').first().isVisible());

    // Cancel and discard: back to the stored dashboard, nothing was saved.
    await page.getByRole('button', { name: 'Cancel', exact: true }).click();
    await discard.waitFor();
    await discard.getByRole('button', { name: 'Discard Changes' }).click();
    await page.getByRole('button', { name: 'Edit' }).waitFor();
    assert.equal(await page.getByText('Unsaved group').count(), 0);
    const after = await stored('cancel');
    assert.equal(after.json.metadata.version, before.json.metadata.version);
    await screenshot(page, 'features-07-cancel');
    expectProblems(problems, page);
    await page.close();
  });

  test('import pasted YAML, and a YAML file', async () => {
    const yaml = [
      'kind: Dashboard',
      'metadata:',
      '  name: pasted',
      '  project: somewhere-else',
      'spec:',
      '  display:',
      '    name: Pasted from YAML',
      '  duration: 30m',
      '  panels:',
      '    notes:',
      '      kind: Panel',
      '      spec:',
      '        display: {name: Notes}',
      '        plugin: {kind: Markdown, spec: {text: "Imported from **YAML**"}}',
      '  layouts:',
      '    - kind: Grid',
      '      spec:',
      '        items:',
      '          - {x: 0, y: 0, width: 12, height: 6, content: {$ref: "#/spec/panels/notes"}}',
      '',
    ].join('\n');
    const page = await context.newPage();
    await page.goto(`${pharos.base}/import?project=${PROJECT}`);
    await page.getByLabel('…or paste it here').fill(yaml);
    await page.getByTestId('import-preview').getByText('Dashboard “Pasted from YAML” with 1 panel').waitFor();
    await page.getByRole('button', { name: 'Import', exact: true }).click();
    await page.waitForURL(new RegExp(`/projects/${PROJECT}/dashboards/pasted$`));
    await page.getByText('Imported from').waitFor();
    const pasted = await stored('pasted');
    assert.equal(pasted.status, 200, pasted.text);
    assert.equal(pasted.json.metadata.project, PROJECT, 'the chosen project wins over the file\'s');
    assert.equal(pasted.json.spec.duration, '30m');

    await page.goto(`${pharos.base}/import?project=${PROJECT}`);
    await page.getByTestId('import-file').setInputFiles({ name: 'board.yaml', mimeType: 'application/yaml', buffer: Buffer.from(yaml) });
    await page.getByTestId('import-preview').waitFor();
    await page.getByLabel('Name in the project').fill('from-file');
    await page.getByRole('button', { name: 'Import', exact: true }).click();
    await page.waitForURL(new RegExp(`/projects/${PROJECT}/dashboards/from-file$`));
    assert.equal((await stored('from-file')).json.spec.display.name, 'Pasted from YAML');
    await screenshot(page, 'features-08-import-yaml');
    expectProblems(problems, page);
    await page.close();
  });

  test('no browser problem went unclaimed', () => {
    const unclaimed = problems.filter((p) => !p.claimed).map(({ kind, url, text }) => ({ kind, url, text }));
    assert.deepEqual(unclaimed, []);
  });
});
