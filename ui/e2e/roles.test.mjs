// Browser tests of a project's roles and role bindings (docs/user/roles.md) and of the login page's
// provider buttons: the admin reaches /projects/{p}/roles from the project page, sees the default
// roles, creates a role and binds a user to it through the forms, and that user's own API calls show
// the grant (reading dashboards, refused an update until the role allows it); a binding to a role
// deleted meanwhile shows the server's refusal; deleting asks first and takes the grant away; a
// viewer gets no buttons to change anything. The login page offers one button per OIDC/OAuth
// provider of /api/config (stubbed here: the server reports none yet), hides the form without the
// native provider, and shows `?error=`. No peers needed.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { ADMIN, expectProblems, launchBrowser, logIn, screenshot, startPharos } from './harness.mjs';

const PROJECT = 'rbac';
const DASHBOARD = 'notes';
const CAROL = 'carol';
const CAROL_PASSWORD = 'carol-password-1';
const DAVE = 'dave';
const DAVE_PASSWORD = 'dave-password-1';

const dashboard = {
  kind: 'Dashboard',
  metadata: { name: DASHBOARD, project: PROJECT },
  spec: {
    display: { name: 'Notes' },
    duration: '1h',
    panels: { note: { kind: 'Panel', spec: { display: { name: 'Note' }, plugin: { kind: 'Markdown', spec: { text: 'hello' } } } } },
    layouts: [{ kind: 'Grid', spec: { items: [{ x: 0, y: 0, width: 12, height: 6, content: { $ref: '#/spec/panels/note' } }] } }],
  },
};

const rolesUrl = (pharos) => `${pharos.base}/projects/${PROJECT}/roles`;

/** Logs `login` in through the API; returns a caller that sends that user's token. */
async function apiAs(pharos, login, password) {
  const answer = await fetch(`${pharos.base}/api/auth/providers/native/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ login, password }),
  });
  const text = await answer.text();
  assert.equal(answer.status, 200, `logging in as ${login}: ${text}`);
  const token = JSON.parse(text).access_token;
  return async (method, path, body) => {
    const response = await fetch(`${pharos.base}${path}`, {
      method,
      headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const responseText = await response.text();
    let json;
    try {
      json = responseText ? JSON.parse(responseText) : undefined;
    } catch {
      json = undefined;
    }
    return { status: response.status, json, text: responseText };
  };
}

/** Creates a user with a password through the API (as the admin). */
async function createUser(pharos, name, password) {
  const user = await pharos.api('POST', '/api/v1/users', { kind: 'User', metadata: { name }, spec: { nativeProvider: { password } } });
  assert.equal(user.status, 200, user.text);
}

/** The cells of the table rows with `testId`, as text, keyed by the first cell (the name). */
async function tableRows(page, testId) {
  const rows = await page.getByTestId(testId).evaluateAll((trs) =>
    trs.map((tr) => Array.from(tr.querySelectorAll('td')).map((td) => td.innerText.trim())),
  );
  return Object.fromEntries(rows.map(([name, ...rest]) => [name, rest]));
}

/** Picks `options` in the MUI multi-select labelled `label` inside `scope`, then closes its menu. */
async function pickMany(page, scope, label, options) {
  await scope.getByRole('combobox', { name: new RegExp(`^${label}`) }).click();
  for (const option of options) await page.getByRole('option', { name: option, exact: true }).click();
  await page.keyboard.press('Escape');
  await page.getByRole('listbox').waitFor({ state: 'detached' });
}

/** Logs a context in as `login` through the login page. */
async function logInAs(context, pharos, problems, login, password) {
  const page = await context.newPage();
  await page.goto(`${pharos.base}/login?rd=%2F`);
  await page.getByLabel('Username').fill(login);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Sign in', exact: true }).click();
  await page.waitForURL(`${pharos.base}/`);
  assert.equal(await page.getByTestId('user-menu').innerText(), login);
  expectProblems(problems, page);
  await page.close();
}

describe('roles and role bindings of a project', () => {
  let pharos;
  let browser;
  let context;
  let problems;
  let newContext;
  let page;
  let carol;

  before(async () => {
    pharos = await startPharos();
    const project = await pharos.api('POST', '/api/v1/projects', { kind: 'Project', metadata: { name: PROJECT }, spec: {} });
    assert.equal(project.status, 200, project.text);
    const created = await pharos.api('POST', `/api/v1/projects/${PROJECT}/dashboards`, dashboard);
    assert.equal(created.status, 200, created.text);
    await createUser(pharos, CAROL, CAROL_PASSWORD);
    carol = await apiAs(pharos, CAROL, CAROL_PASSWORD);
    ({ browser, context, problems, newContext } = await launchBrowser());
    await logIn(context, pharos, problems);
    page = await context.newPage();
  });

  after(async () => {
    await browser?.close();
    await pharos?.stop();
  });

  test('the project page leads to its roles: the defaults and the creator bound as owner', async () => {
    await page.goto(`${pharos.base}/projects/${PROJECT}`);
    await page.getByRole('link', { name: 'Roles', exact: true }).click();
    await page.waitForURL(rolesUrl(pharos));
    await page.getByRole('table', { name: 'Roles' }).waitFor();
    const roles = await tableRows(page, 'role-row');
    assert.deepEqual(Object.keys(roles).sort(), ['editor', 'owner', 'viewer']);
    assert.equal(roles.owner[0], '* on *');
    assert.equal(roles.viewer[0], 'read on *');
    assert.match(roles.editor[0], /^\* on Dashboard, Datasource, .*\nread on Project, Role, RoleBinding$/s);
    await page.getByRole('table', { name: 'Role bindings' }).waitFor();
    const bindings = await tableRows(page, 'binding-row');
    assert.deepEqual(bindings, { owner: ['owner', ADMIN, ''] });
    // The admin may change everything here.
    for (const name of ['New role', 'New binding']) assert.equal(await page.getByRole('button', { name, exact: true }).count(), 1, name);
    assert.equal(await page.getByRole('button', { name: 'Delete role viewer' }).count(), 1);
    await screenshot(page, 'roles-01-defaults');
    expectProblems(problems, page);
  });

  test('a role made through the form is stored with exactly its permissions', async () => {
    await page.getByRole('button', { name: 'New role', exact: true }).click();
    const dialog = page.getByRole('dialog', { name: 'New role' });
    await dialog.waitFor();
    const create = dialog.getByRole('button', { name: 'Create', exact: true });
    await dialog.getByLabel('Name').fill('reader');
    assert.ok(await create.isDisabled(), 'no action or scope chosen yet');
    await pickMany(page, dialog, 'Actions', ['read']);
    await pickMany(page, dialog, 'Scopes', ['Dashboard']);
    await pickMany(page, dialog, 'Scopes', ['Project']);
    await screenshot(page, 'roles-02-new-role');
    await create.click();
    await dialog.waitFor({ state: 'detached' });
    await page.getByTestId('role-row').filter({ hasText: 'reader' }).waitFor();
    assert.deepEqual((await tableRows(page, 'role-row')).reader, ['read on Dashboard, Project', '']);
    const stored = await pharos.api('GET', `/api/v1/projects/${PROJECT}/roles/reader`);
    assert.equal(stored.status, 200, stored.text);
    assert.deepEqual(stored.json.spec, { permissions: [{ actions: ['read'], scopes: ['Dashboard', 'Project'] }] });
    expectProblems(problems, page);
  });

  test('binding carol to the role through the form lets her read dashboards, not change them', async () => {
    // Before: nothing in the project for carol.
    const before = await carol('GET', `/api/v1/users/${CAROL}/permissions`);
    assert.equal(before.status, 200, before.text);
    assert.equal(before.json[PROJECT], undefined, before.text);
    const refused = await carol('GET', `/api/v1/projects/${PROJECT}/dashboards/${DASHBOARD}`);
    assert.ok(refused.status >= 400, `carol read the dashboard before being bound: ${refused.status} ${refused.text}`);

    await page.getByRole('button', { name: 'New binding', exact: true }).click();
    const dialog = page.getByRole('dialog', { name: 'New role binding' });
    await dialog.waitFor();
    await dialog.getByRole('combobox', { name: /^Role/ }).click();
    // Only the project's roles are offered.
    const offered = await page.getByRole('option').allInnerTexts();
    assert.deepEqual(offered.sort(), ['editor', 'owner', 'reader', 'viewer']);
    await page.getByRole('option', { name: 'reader', exact: true }).click();
    // The admin may list users: carol is offered while typing.
    await dialog.getByRole('combobox', { name: 'Users' }).fill('car');
    await page.getByRole('option', { name: CAROL, exact: true }).click();
    // The name is derived from the role and the first user.
    assert.equal(await dialog.getByLabel('Name (in the API)').getAttribute('placeholder'), `reader-${CAROL}`);
    await screenshot(page, 'roles-03-new-binding');
    await dialog.getByRole('button', { name: 'Create', exact: true }).click();
    await dialog.waitFor({ state: 'detached' });
    await page.getByTestId('binding-row').filter({ hasText: CAROL }).waitFor();
    assert.deepEqual((await tableRows(page, 'binding-row'))[`reader-${CAROL}`], ['reader', CAROL, '']);
    const stored = await pharos.api('GET', `/api/v1/projects/${PROJECT}/rolebindings/reader-${CAROL}`);
    assert.equal(stored.status, 200, stored.text);
    assert.deepEqual(stored.json.spec, { role: 'reader', subjects: [{ kind: 'User', name: CAROL }] });

    // Carol's own calls: the permission is hers now; she lists and reads dashboards, and is refused
    // an update and the project's roles, naming what she lacks.
    const permissions = await carol('GET', `/api/v1/users/${CAROL}/permissions`);
    assert.equal(permissions.status, 200, permissions.text);
    assert.deepEqual(permissions.json[PROJECT], [{ actions: ['read'], scopes: ['Dashboard', 'Project'] }]);
    const list = await carol('GET', `/api/v1/projects/${PROJECT}/dashboards`);
    assert.equal(list.status, 200, list.text);
    assert.deepEqual(list.json.map((d) => d.metadata.name), [DASHBOARD]);
    const read = await carol('GET', `/api/v1/projects/${PROJECT}/dashboards/${DASHBOARD}`);
    assert.equal(read.status, 200, read.text);
    const update = await carol('PUT', `/api/v1/projects/${PROJECT}/dashboards/${DASHBOARD}`, read.json);
    assert.equal(update.status, 403, update.text);
    assert.match(update.json.message, /may not update Dashboard/);
    const roles = await carol('GET', `/api/v1/projects/${PROJECT}/roles`);
    assert.equal(roles.status, 403, roles.text);
    expectProblems(problems, page);
  });

  test('editing the role through the form changes what its users may do', async () => {
    await page.getByRole('button', { name: 'Edit role reader' }).click();
    const dialog = page.getByRole('dialog', { name: 'Edit role reader' });
    await dialog.waitFor();
    assert.ok(await dialog.getByLabel('Name').isDisabled(), 'a role keeps its name');
    // A second permission: update on dashboards.
    await dialog.getByRole('button', { name: 'Add permission' }).click();
    const second = dialog.getByTestId('permission-row').nth(1);
    await pickMany(page, second, 'Actions', ['update']);
    await pickMany(page, second, 'Scopes', ['Dashboard']);
    await dialog.getByRole('button', { name: 'Save', exact: true }).click();
    await dialog.waitFor({ state: 'detached' });
    await page.getByTestId('role-row').filter({ hasText: 'update on Dashboard' }).waitFor();
    assert.deepEqual((await tableRows(page, 'role-row')).reader, ['read on Dashboard, Project\nupdate on Dashboard', '']);
    const stored = await pharos.api('GET', `/api/v1/projects/${PROJECT}/roles/reader`);
    assert.deepEqual(stored.json.spec, {
      permissions: [
        { actions: ['read'], scopes: ['Dashboard', 'Project'] },
        { actions: ['update'], scopes: ['Dashboard'] },
      ],
    });
    const read = await carol('GET', `/api/v1/projects/${PROJECT}/dashboards/${DASHBOARD}`);
    read.json.spec.display.name = 'Notes by carol';
    const update = await carol('PUT', `/api/v1/projects/${PROJECT}/dashboards/${DASHBOARD}`, read.json);
    assert.equal(update.status, 200, update.text);
    assert.equal(update.json.spec.display.name, 'Notes by carol');
    expectProblems(problems, page);
  });

  test("a binding to a role deleted meanwhile shows the server's refusal and is not stored", async () => {
    const temp = await pharos.api('POST', `/api/v1/projects/${PROJECT}/roles`, {
      kind: 'Role',
      metadata: { name: 'temp' },
      spec: { permissions: [{ actions: ['read'], scopes: ['Variable'] }] },
    });
    assert.equal(temp.status, 200, temp.text);
    await page.reload();
    await page.getByTestId('role-row').filter({ has: page.getByRole('cell', { name: 'temp', exact: true }) }).waitFor();
    await page.getByRole('button', { name: 'New binding', exact: true }).click();
    const dialog = page.getByRole('dialog', { name: 'New role binding' });
    await dialog.getByRole('combobox', { name: /^Role/ }).click();
    await page.getByRole('option', { name: 'temp', exact: true }).click();
    // A name typed, not picked (without the user list this is the only way).
    await dialog.getByRole('combobox', { name: 'Users' }).fill(CAROL);
    await dialog.getByRole('combobox', { name: 'Users' }).press('Enter');
    await dialog.getByRole('button', { name: CAROL }).waitFor();
    // Someone else deletes the role while the form is open.
    assert.equal((await pharos.api('DELETE', `/api/v1/projects/${PROJECT}/roles/temp`)).status, 204);
    const answered = page.waitForResponse((r) => r.request().method() === 'POST' && r.url().endsWith(`/projects/${PROJECT}/rolebindings`));
    await dialog.getByRole('button', { name: 'Create', exact: true }).click();
    const response = await answered;
    assert.equal(response.status(), 400);
    const { message } = await response.json();
    assert.match(message, /temp/);
    const notice = dialog.getByTestId('error-notice');
    await notice.waitFor();
    assert.equal((await notice.innerText()).trim(), message);
    await screenshot(page, 'roles-04-missing-role');
    assert.ok(await dialog.isVisible(), 'the form stays open to be corrected');
    // The list behind it is read again: the vanished role is gone from it.
    await page.getByTestId('role-row').filter({ has: page.getByRole('cell', { name: 'temp', exact: true }) }).waitFor({ state: 'detached' });
    const stored = await pharos.api('GET', `/api/v1/projects/${PROJECT}/rolebindings`);
    assert.deepEqual(stored.json.map((b) => b.metadata.name).sort(), ['owner', `reader-${CAROL}`]);
    await dialog.getByRole('button', { name: 'Cancel' }).click();
    await dialog.waitFor({ state: 'detached' });
    expectProblems(problems, page, [{ text: /status of 400/, resource: new RegExp(`/projects/${PROJECT}/rolebindings$`) }]);
  });

  test('deleting a binding asks first, then takes the grant away', async () => {
    const row = page.getByTestId('binding-row').filter({ hasText: CAROL });
    await page.getByRole('button', { name: `Delete binding reader-${CAROL}` }).click();
    const confirm = page.getByRole('dialog', { name: 'Delete role binding?' });
    await confirm.waitFor();
    await confirm.getByRole('button', { name: 'Cancel' }).click();
    await confirm.waitFor({ state: 'hidden' });
    assert.equal(await row.count(), 1, 'cancelled: still there');
    assert.equal((await pharos.api('GET', `/api/v1/projects/${PROJECT}/rolebindings/reader-${CAROL}`)).status, 200);

    await page.getByRole('button', { name: `Delete binding reader-${CAROL}` }).click();
    await confirm.waitFor();
    await confirm.getByRole('button', { name: 'Delete', exact: true }).click();
    await row.waitFor({ state: 'detached' });
    assert.equal((await pharos.api('GET', `/api/v1/projects/${PROJECT}/rolebindings/reader-${CAROL}`)).status, 404);
    const permissions = await carol('GET', `/api/v1/users/${CAROL}/permissions`);
    assert.equal(permissions.json[PROJECT], undefined, permissions.text);
    const read = await carol('GET', `/api/v1/projects/${PROJECT}/dashboards/${DASHBOARD}`);
    assert.ok(read.status >= 400, `carol still reads: ${read.status}`);
    expectProblems(problems, page, [{ text: /status of 404/, resource: /\/rolebindings\/reader-carol$/, optional: true }]);
  });

  test('a viewer sees the roles and bindings but no button to change them', async () => {
    await createUser(pharos, DAVE, DAVE_PASSWORD);
    const binding = await pharos.api('POST', `/api/v1/projects/${PROJECT}/rolebindings`, {
      kind: 'RoleBinding',
      metadata: { name: 'dave-viewer' },
      spec: { role: 'viewer', subjects: [{ kind: 'User', name: DAVE }] },
    });
    assert.equal(binding.status, 200, binding.text);
    const daveContext = await newContext();
    await logInAs(daveContext, pharos, problems, DAVE, DAVE_PASSWORD);
    const usersListed = [];
    daveContext.on('request', (r) => new URL(r.url()).pathname === '/api/v1/users' && usersListed.push(r.url()));
    const davePage = await daveContext.newPage();
    await davePage.goto(`${pharos.base}/projects/${PROJECT}`);
    await davePage.getByRole('link', { name: 'Roles', exact: true }).click();
    await davePage.getByRole('table', { name: 'Role bindings' }).waitFor();
    assert.deepEqual(Object.keys(await tableRows(davePage, 'binding-row')).sort(), ['dave-viewer', 'owner']);
    assert.ok('reader' in (await tableRows(davePage, 'role-row')));
    for (const name of ['New role', 'New binding']) assert.equal(await davePage.getByRole('button', { name }).count(), 0, name);
    assert.equal(await davePage.getByRole('button', { name: /^(Edit|Delete) (role|binding) / }).count(), 0);
    assert.deepEqual(usersListed, [], 'a viewer may not list users, so the page does not ask');
    await screenshot(davePage, 'roles-05-viewer');
    expectProblems(problems, davePage);
    await daveContext.close();
  });

  test('no browser problem went unclaimed', () => {
    const unclaimed = problems.filter((p) => !p.claimed).map(({ kind, url, text }) => ({ kind, url, text }));
    assert.deepEqual(unclaimed, []);
  });
});

describe('login page: one button per identity provider', () => {
  let pharos;
  let browser;
  let problems;
  let newContext;

  before(async () => {
    pharos = await startPharos();
    ({ browser, problems, newContext } = await launchBrowser());
  });

  after(async () => {
    await browser?.close();
    await pharos?.stop();
  });

  /** A page without a session whose /api/config reports `providers` (the server's own otherwise). */
  async function loginPage(providers) {
    const context = await newContext();
    const page = await context.newPage();
    if (providers) {
      await page.route('**/api/config', async (route) => {
        const response = await route.fetch();
        const json = await response.json();
        json.security.authentication.providers = providers;
        await route.fulfill({ response, json });
      });
    }
    return { context, page };
  }

  test('this server reports no external provider: only the native form', async () => {
    const config = await (await fetch(`${pharos.base}/api/config`)).json();
    const { enable_native: native, oidc, oauth } = config.security.authentication.providers;
    assert.deepEqual({ native, oidc, oauth }, { native: true, oidc: [], oauth: [] });
    const { context, page } = await loginPage();
    await page.goto(`${pharos.base}/login`);
    await page.getByLabel('Username').waitFor();
    assert.equal(await page.getByRole('button', { name: /^Sign in with / }).count(), 0);
    assert.equal(await page.getByTestId('login-provider-error').count(), 0);
    expectProblems(problems, page);
    await context.close();
  });

  test('OIDC and OAuth buttons start the provider login with the safe return path', async () => {
    const { context, page } = await loginPage({
      enable_native: false,
      oidc: [{ slug_id: 'corp', name: 'Corporate SSO' }],
      oauth: [{ slug_id: 'gh', name: 'GitHub' }],
    });
    // Stands in for the server's redirect to the provider.
    const started = [];
    await page.route('**/api/auth/providers/**', (route) => {
      started.push(route.request().url());
      return route.fulfill({ status: 200, contentType: 'text/html', body: '<title>provider</title>' });
    });
    const rd = `/projects/${PROJECT}?x=1`;
    await page.goto(`${pharos.base}/login?rd=${encodeURIComponent(rd)}`);
    const github = page.getByRole('button', { name: 'Sign in with GitHub', exact: true });
    await github.waitFor();
    assert.equal(await page.getByRole('button', { name: 'Sign in with Corporate SSO', exact: true }).count(), 1);
    assert.equal(await page.getByLabel('Username').count(), 0, 'no native form without the native provider');
    assert.equal(await page.getByRole('button', { name: 'Sign in', exact: true }).count(), 0);
    await screenshot(page, 'roles-06-login-providers');
    await github.click();
    await page.waitForURL((url) => url.pathname.startsWith('/api/auth/providers/'));
    const url = new URL(page.url());
    assert.equal(url.pathname, '/api/auth/providers/oauth/gh/login');
    assert.equal(url.searchParams.get('rd'), rd);

    // Only paths of this site are passed on as the return address.
    await page.goto(`${pharos.base}/login?rd=${encodeURIComponent('//example.org/steal')}`);
    await page.getByRole('button', { name: 'Sign in with Corporate SSO', exact: true }).click();
    await page.waitForURL((u) => u.pathname.startsWith('/api/auth/providers/'));
    const oidc = new URL(page.url());
    assert.equal(oidc.pathname, '/api/auth/providers/oidc/corp/login');
    assert.equal(oidc.searchParams.get('rd'), '/');
    assert.equal(started.length, 2, JSON.stringify(started));
    expectProblems(problems, page);
    await context.close();
  });

  test('with the native provider too, the buttons come above the form; ?error= is shown', async () => {
    const { context, page } = await loginPage({ enable_native: true, oidc: [{ slug_id: 'corp', name: 'Corporate SSO' }], oauth: [] });
    const message = 'the identity provider refused the login: access_denied';
    await page.goto(`${pharos.base}/login?error=${encodeURIComponent(message)}`);
    await page.getByRole('button', { name: 'Sign in with Corporate SSO', exact: true }).waitFor();
    await page.getByLabel('Username').waitFor();
    assert.equal((await page.getByTestId('login-provider-error').innerText()).trim(), message);
    await screenshot(page, 'roles-07-login-error');
    // The native login still works from here.
    await page.getByLabel('Username').fill(ADMIN);
    await page.getByLabel('Password').fill(pharos.password);
    await page.getByRole('button', { name: 'Sign in', exact: true }).click();
    await page.waitForURL(`${pharos.base}/`);
    assert.equal(await page.getByTestId('user-menu').innerText(), ADMIN);
    expectProblems(problems, page);
    await context.close();
  });

  test('no browser problem went unclaimed', () => {
    const unclaimed = problems.filter((p) => !p.claimed).map(({ kind, url, text }) => ({ kind, url, text }));
    assert.deepEqual(unclaimed, []);
  });
});
