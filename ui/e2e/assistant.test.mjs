// The assistant page (`/assistant`, docs/user/assistant.md) against a scripted OpenAI-compatible
// model: `pharos-fakes openai` run as its own process answers each chat-completions request with
// the next turn of a script file. Pharos runs without the demo; GPU utilisation of two clusters is
// remote-written into its embedded store, so the `query_metrics` tool the script calls has an
// answer. A question shows the tool call as a card (its arguments, then an ok result), the answer
// streamed piece by piece, and the same conversation again after a reload (from the API); a model
// that fails shows an error row and the next question works; Stop ends an answer that hangs;
// a chat is deleted after a confirmation. A Pharos without `assistant.llm` shows the notice and
// no input, and its Incidents view (root-cause analysis, no model needed) says an empty window is
// empty and shows the server's message on an error. A demo Pharos (its own `describe`: the
// simulator's 6 h backfill takes a while) lists the incidents the analysis API finds, newest
// first, with the ranked suspects and their evidence, and the Markdown report to download.
// No console or page error anywhere. No peers needed.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { after, before, describe, test } from 'node:test';
import { REPO_ROOT, describeProblem, expectProblems, launchBrowser, logIn, screenshot, startPharos, writeArtifact } from './harness.mjs';
import { remoteWrite } from './remote-write.mjs';

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const RCA = '/api/v1/analysis/rca';
/** The page's own POST of the root-cause analysis (its answer is what the page shows). */
const rcaResponse = (page) => page.waitForResponse((r) => new URL(r.url()).pathname === RCA && r.request().method() === 'POST');
const incidentIds = (page) => page.getByTestId('incident-row').evaluateAll((rows) => rows.map((r) => Number(r.dataset.incidentId)));

const FAKES_BIN = process.env.PHAROS_FAKES_BIN ?? join(REPO_ROOT, 'target/debug/pharos-fakes');

const NOTICE =
  'No language model is configured: set assistant.llm in the configuration (docs/user/assistant.md). Anomaly detection and root-cause analysis still work.';

const QUERY = 'sum by (cluster) (DCGM_FI_DEV_GPU_UTIL)';
const QUESTION = 'Which cluster has the busiest GPUs right now?';
// Long, and streamed two characters per delta: the page must show it growing.
const ANSWER =
  'The busiest cluster is west: its GPUs average 77 percent utilisation, against 42 percent on east. ' +
  'West has been the busier of the two in every sample of the last minutes, so new training jobs should go to east first.';
const FAILING_QUESTION = 'What failed on the model side?';
const FOLLOW_UP = 'And after the failure, does the assistant still answer?';
const FOLLOW_UP_ANSWER = 'Yes: this answer arrived after the failed one.';
const HANGING_QUESTION = 'This question is never answered by the model';
const AFTER_STOP = 'One more after stopping';
const AFTER_STOP_ANSWER = 'Still here after the stop.';

/**
 * The script of the fake, in the order the tests ask. `reply` turns answer the question they
 * name out of order, so a turn left over by a retry count other than expected cannot shift them.
 */
const SCRIPT = [
  // 1: a tool call, then the answer built from its result.
  { kind: 'tool_calls', calls: [{ name: 'query_metrics', arguments: JSON.stringify({ query: QUERY }) }] },
  { kind: 'text', text: ANSWER, chunk: 2 },
  // 3: every attempt of the first question fails (the first call and its retries, max_retries 2).
  { kind: 'error', status: 500, message: 'boom' },
  { kind: 'error', status: 500, message: 'boom' },
  { kind: 'error', status: 500, message: 'boom' },
  { kind: 'reply', when_last_user_contains: FOLLOW_UP, then: { kind: 'text', text: FOLLOW_UP_ANSWER } },
  // Stop: the model never answers; the next question is answered.
  { kind: 'reply', when_last_user_contains: HANGING_QUESTION, then: { kind: 'hang' } },
  { kind: 'reply', when_last_user_contains: AFTER_STOP, then: { kind: 'text', text: AFTER_STOP_ANSWER } },
];

const llmConfig = (url) => `assistant:
  llm:
    url: ${url}
    model: scripted-model
    max_retries: 2
`;

/** The base URL (…/v1) in the fake's first stdout line: JSON naming it, or the URL itself. */
function baseUrlOf(line) {
  const text = line.trim();
  let value = text;
  try {
    const parsed = JSON.parse(text);
    value = typeof parsed === 'string' ? parsed : (parsed.base_url ?? parsed.url ?? Object.values(parsed).find((v) => typeof v === 'string' && v.startsWith('http')));
  } catch {
    // Not JSON: the URL as a line.
  }
  assert.match(String(value), /^http:\/\/127\.0\.0\.1:\d+\/v1$/, `pharos-fakes openai printed ${text}`);
  return String(value);
}

/** Starts `pharos-fakes openai` with `script`; resolves with its base URL and a stop function. */
async function startFakeModel(script) {
  if (!existsSync(FAKES_BIN)) {
    throw new Error(`${FAKES_BIN} does not exist: run \`cargo build -p pharos-fakes\` first (or set PHAROS_FAKES_BIN)`);
  }
  const dir = mkdtempSync(join(tmpdir(), 'pharos-ui-e2e-llm-'));
  const scriptFile = join(dir, 'script.json');
  writeFileSync(scriptFile, JSON.stringify(script, null, 2));
  const child = spawn(FAKES_BIN, ['openai', '--listen', '127.0.0.1:0', '--script', scriptFile], { stdio: ['ignore', 'pipe', 'pipe'] });
  const stderr = [];
  child.stderr.on('data', (d) => stderr.push(String(d)));
  const stop = () => {
    if (child.exitCode === null) child.kill('SIGTERM');
    rmSync(dir, { recursive: true, force: true });
  };
  const firstLine = new Promise((resolveLine, reject) => {
    const lines = createInterface({ input: child.stdout });
    lines.once('line', (line) => resolveLine(line));
    child.once('exit', (code) => reject(new Error(`pharos-fakes openai exited with ${code}: ${stderr.join('')}`)));
    setTimeout(() => reject(new Error(`pharos-fakes openai named no URL in 10 s: ${stderr.join('')}`)), 10_000).unref();
  });
  try {
    const url = baseUrlOf(await firstLine);
    return { url, stop, stderr };
  } catch (e) {
    stop();
    throw e;
  }
}

/** GPU utilisation of two clusters, three samples each up to now. */
function gpuSeries() {
  const now = Date.now();
  const series = [];
  for (const [cluster, gpus] of [
    ['east', [40, 44]],
    ['west', [75, 79]],
  ]) {
    gpus.forEach((value, gpu) => {
      for (const ago of [60_000, 30_000, 0]) {
        series.push({ labels: { __name__: 'DCGM_FI_DEV_GPU_UTIL', cluster, gpu: String(gpu), Hostname: `${cluster}-node-1` }, value, timestampMs: now - ago });
      }
    });
  }
  return series;
}

/** What the conversation shows, in order: messages, tool cards and error rows. */
const readConversation = (page) =>
  page.getByTestId('chat-messages').evaluate((box) =>
    Array.from(box.querySelectorAll('[data-testid="chat-message"], [data-testid="tool-card"], [data-testid="chat-error"]')).map((el) => {
      if (el.dataset.testid === 'tool-card') {
        return {
          kind: 'tool',
          tool: el.dataset.tool,
          state: el.dataset.state,
          arguments: el.querySelector('[data-testid="tool-arguments"]')?.textContent ?? '',
          summary: el.querySelector('[data-testid="tool-summary"]')?.textContent ?? '',
        };
      }
      if (el.dataset.testid === 'chat-error') return { kind: 'error', code: el.dataset.code, text: el.textContent.trim() };
      return { kind: el.dataset.role, text: (el.querySelector('[data-testid="chat-message-text"]') ?? el).textContent.trim() };
    }),
  );

/** Records every length the streamed text takes (a MutationObserver on the page). */
const watchStreaming = (page) =>
  page.evaluate(() => {
    const seen = new Set();
    window.__streamedLengths = seen;
    const observer = new MutationObserver(() => {
      const streaming = document.querySelector('[data-testid="assistant-streaming-text"]');
      if (streaming) seen.add(streaming.textContent.length);
    });
    observer.observe(document.body, { subtree: true, childList: true, characterData: true });
    window.__stopWatching = () => observer.disconnect();
  });

const streamedLengths = (page) =>
  page.evaluate(() => {
    window.__stopWatching?.();
    return [...window.__streamedLengths].sort((a, b) => a - b);
  });

const sessionRow = (page, id) => page.locator(`[data-testid="chat-session-row"][data-session="${id}"]`);
const sessionIdOf = (page) => decodeURIComponent(new URL(page.url()).pathname.split('/')[2] ?? '');

/** Types `question` in the chat input and sends it with Enter. */
async function ask(page, question) {
  const input = page.getByTestId('chat-input');
  await input.waitFor();
  assert.equal(await input.isEnabled(), true, 'the chat input is enabled before asking');
  await input.fill(question);
  await input.press('Enter');
}

describe('the assistant with a scripted model', () => {
  let fake;
  let pharos;
  let browser;
  let context;
  let problems;
  let personas;
  let firstSession;
  let failedSession;

  before(async () => {
    fake = await startFakeModel(SCRIPT);
    pharos = await startPharos({ config: llmConfig(fake.url) });
    await remoteWrite(`${pharos.base}/api/v1/write`, gpuSeries(), { authorization: `Bearer ${await pharos.token()}` });
    const answer = await pharos.api('GET', '/api/v1/personas');
    assert.notEqual(answer.status, 404, `GET /api/v1/personas: 404 (is the assistant API in this binary?) ${answer.text}`);
    assert.equal(answer.status, 200, answer.text);
    personas = answer.json;
    assert.equal(personas.llm.configured, true, answer.text);
    assert.ok(personas.personas.some((p) => p.id === 'default'), answer.text);
    ({ browser, context, problems } = await launchBrowser());
    await logIn(context, pharos, problems);
  });

  after(async () => {
    await browser?.close();
    await pharos?.stop();
    fake?.stop();
  });

  test('a question shows the tool call as a card, streams the answer, and is there again after a reload', async () => {
    const page = await context.newPage();
    await page.goto(`${pharos.base}/`);
    await page.getByTestId('nav-assistant').click();
    await page.waitForURL(`${pharos.base}/assistant`);
    assert.equal(await page.getByTestId('nav-assistant').getAttribute('aria-current'), 'page');
    assert.equal(await page.getByTestId('assistant-llm-notice').count(), 0);
    await page.getByTestId('chat-sessions-empty').waitFor();
    // The persona picker offers the server's personas, "default" chosen.
    const defaultPersona = personas.personas.find((p) => p.id === 'default');
    assert.equal((await page.getByTestId('chat-persona').innerText()).trim(), defaultPersona.name);
    await page.getByTestId('chat-persona').click();
    const offered = await page.getByTestId('chat-persona-option').evaluateAll((options) => options.map((o) => o.dataset.persona));
    assert.deepEqual(offered, personas.personas.map((p) => p.id));
    await page.keyboard.press('Escape');
    await page.locator('[data-testid="chat-persona-option"]').first().waitFor({ state: 'detached' });

    await page.getByTestId('chat-new').click();
    await page.waitForURL((url) => /^\/assistant\/[^/]+$/.test(url.pathname));
    firstSession = sessionIdOf(page);
    await page.getByTestId('chat-empty').waitFor();
    await sessionRow(page, firstSession).waitFor();
    assert.equal(await sessionRow(page, firstSession).getAttribute('data-persona'), 'default');

    await watchStreaming(page);
    // A slow network, so the answer arrives over many reads (the fake sends it all at once, and on
    // loopback the browser could get the whole stream in one piece).
    const cdp = await context.newCDPSession(page);
    await cdp.send('Network.enable');
    await cdp.send('Network.emulateNetworkConditions', { offline: false, latency: 0, downloadThroughput: 4_000, uploadThroughput: -1 });
    await ask(page, QUESTION);
    // The question at once; the input waits while the answer streams.
    await page.locator('[data-testid="chat-message"][data-role="user"]', { hasText: QUESTION }).waitFor();
    const card = page.locator('[data-testid="tool-card"][data-tool="query_metrics"]');
    await card.waitFor();
    assert.deepEqual(JSON.parse(await card.getByTestId('tool-arguments').innerText()), { query: QUERY });
    await page.locator('[data-testid="tool-card"][data-tool="query_metrics"][data-state="ok"]').waitFor({ timeout: 30_000 });
    assert.equal(await card.getByTestId('tool-result').getAttribute('data-ok'), 'true');
    const liveSummary = (await card.getByTestId('tool-summary').innerText()).trim();
    assert.ok(liveSummary.length > 0, 'the result has a summary line');
    // Its JSON opens on demand, and holds both clusters' answers.
    await card.getByTestId('tool-result-toggle').click();
    const json = await card.getByTestId('tool-result-json').innerText();
    assert.match(json, /east/);
    assert.match(json, /west/);

    const answer = page.locator('[data-testid="chat-message"][data-role="assistant"]', { hasText: ANSWER.slice(0, 40) });
    await answer.waitFor({ timeout: 30_000 });
    assert.equal((await answer.getByTestId('chat-message-text').innerText()).trim(), ANSWER);
    assert.equal(await page.getByTestId('assistant-streaming').count(), 0, 'nothing streams any more');
    const lengths = (await streamedLengths(page)).filter((n) => n > 0 && n < ANSWER.length);
    writeArtifact('assistant-streamed-lengths.json', lengths);
    assert.ok(lengths.length >= 2, `the answer grew in pieces before it was complete (lengths seen: ${JSON.stringify(lengths)})`);
    await cdp.send('Network.emulateNetworkConditions', { offline: false, latency: 0, downloadThroughput: -1, uploadThroughput: -1 });
    await cdp.detach();
    // The turn's tokens in small print, and the input back.
    await page.getByTestId('chat-usage').waitFor();
    assert.match(await page.getByTestId('chat-usage').innerText(), /\d+ tokens/);
    assert.equal(await page.getByTestId('chat-input').isEnabled(), true);
    assert.equal(await page.getByTestId('chat-error').count(), 0);
    await screenshot(page, 'assistant-01-answer');
    const live = await readConversation(page);

    // What the API stored: the question, the call, its result, the answer.
    const stored = await pharos.api('GET', `/api/v1/chat/sessions/${encodeURIComponent(firstSession)}`);
    assert.equal(stored.status, 200, stored.text);
    writeArtifact('assistant-session.json', stored.json);
    assert.deepEqual(
      stored.json.messages.map((m) => m.role),
      ['user', 'assistant', 'tool', 'assistant'],
      stored.text,
    );
    assert.equal(stored.json.messages[1].tool_calls[0].name, 'query_metrics');
    assert.equal(stored.json.messages[3].content, ANSWER);

    // (The requests the model got are recorded by the fake in-process only — `ScriptedLlm::requests`
    // — not over HTTP; that the tool result went back to the model is covered by the Rust tests.)
    assert.match(stored.json.messages[2].content, /west/, 'the stored tool result, as the model read it');

    // After a reload the session is listed (titled by its question) and the conversation is the same.
    await page.reload();
    await sessionRow(page, firstSession).waitFor();
    assert.equal(await sessionRow(page, firstSession).locator('[aria-current="page"]').count(), 1);
    const title = (await sessionRow(page, firstSession).getByTestId('chat-session-title').innerText()).trim();
    assert.ok(title.length > 0 && QUESTION.startsWith(title.replace(/…$/, '').trim()), `title ${title} from the question`);
    await page.locator('[data-testid="chat-message"][data-role="assistant"]', { hasText: ANSWER.slice(0, 40) }).waitFor();
    const restored = await readConversation(page);
    assert.deepEqual(
      restored.map(({ kind, tool, state, text }) => ({ kind, tool, state, text })),
      [
        { kind: 'user', tool: undefined, state: undefined, text: QUESTION },
        { kind: 'tool', tool: 'query_metrics', state: 'ok', text: undefined },
        { kind: 'assistant', tool: undefined, state: undefined, text: ANSWER },
      ],
    );
    assert.deepEqual(JSON.parse(restored[1].arguments), { query: QUERY });
    assert.deepEqual(
      restored.map(({ kind, tool, state, text }) => ({ kind, tool, state, text })),
      live.map(({ kind, tool, state, text }) => ({ kind, tool, state, text })),
      'the same conversation as it was streamed',
    );
    await screenshot(page, 'assistant-02-reloaded');
    expectProblems(problems, page);
    await page.close();
  });

  test('a model that fails shows an error row, and the next question is answered', async () => {
    const page = await context.newPage();
    await page.goto(`${pharos.base}/assistant`);
    await page.getByTestId('chat-new').click();
    await page.waitForURL((url) => /^\/assistant\/[^/]+$/.test(url.pathname) && sessionIdOf(page) !== firstSession);
    failedSession = sessionIdOf(page);
    await page.getByTestId('chat-empty').waitFor();
    await ask(page, FAILING_QUESTION);
    const error = page.getByTestId('chat-error');
    await error.waitFor({ timeout: 60_000 });
    assert.equal(await error.count(), 1, 'one error row');
    assert.equal(await error.getAttribute('data-code'), 'llm_failed');
    assert.ok((await error.innerText()).trim().length > 0);
    await page.waitForFunction(() => !document.querySelector('[data-testid="chat-input"]')?.disabled);
    await screenshot(page, 'assistant-03-error');

    await ask(page, FOLLOW_UP);
    await page.locator('[data-testid="chat-message"][data-role="assistant"]', { hasText: FOLLOW_UP_ANSWER }).waitFor({ timeout: 30_000 });
    const shown = await readConversation(page);
    assert.deepEqual(
      shown.map(({ kind, code, text }) => (kind === 'error' ? { kind, code } : { kind, text })),
      [
        { kind: 'user', text: FAILING_QUESTION },
        { kind: 'error', code: 'llm_failed' },
        { kind: 'user', text: FOLLOW_UP },
        { kind: 'assistant', text: FOLLOW_UP_ANSWER },
      ],
    );
    expectProblems(problems, page);
    await page.close();
  });

  test('Stop ends an answer the model never sends; the chat goes on', async () => {
    const page = await context.newPage();
    await page.goto(`${pharos.base}/assistant`);
    await page.getByTestId('chat-new').click();
    await page.waitForURL((url) => /^\/assistant\/[^/]+$/.test(url.pathname) && ![firstSession, failedSession].includes(sessionIdOf(page)));
    await page.getByTestId('chat-empty').waitFor();
    await ask(page, HANGING_QUESTION);
    await page.getByTestId('assistant-thinking').waitFor();
    assert.equal(await page.getByTestId('chat-input').isDisabled(), true, 'no typing while an answer streams');
    await page.getByTestId('chat-stop').click();
    await page.locator('[data-testid="chat-error"][data-code="cancelled"]').waitFor();
    assert.equal(await page.getByTestId('assistant-thinking').count(), 0);
    await page.waitForFunction(() => !document.querySelector('[data-testid="chat-input"]')?.disabled);
    await ask(page, AFTER_STOP);
    await page.locator('[data-testid="chat-message"][data-role="assistant"]', { hasText: AFTER_STOP_ANSWER }).waitFor({ timeout: 30_000 });
    await screenshot(page, 'assistant-04-stopped');
    expectProblems(problems, page);
    await page.close();
  });

  test('a chat is deleted after a confirmation', async () => {
    const page = await context.newPage();
    await page.goto(`${pharos.base}/assistant/${encodeURIComponent(failedSession)}`);
    const row = sessionRow(page, failedSession);
    await row.waitFor();
    await page.locator('[data-testid="chat-message"][data-role="user"]', { hasText: FAILING_QUESTION }).waitFor();
    // Newest first.
    const listed = await page.getByTestId('chat-session-row').evaluateAll((rows) => rows.map((r) => r.dataset.session));
    const api = await pharos.api('GET', '/api/v1/chat/sessions');
    assert.equal(api.status, 200, api.text);
    assert.deepEqual(listed, api.json.sessions.map((s) => s.id));
    assert.ok(listed.length >= 3 && listed.includes(firstSession));

    // Cancel keeps it.
    await row.getByTestId('chat-session-delete').click();
    const dialog = page.getByTestId('chat-delete-dialog');
    await dialog.getByRole('button', { name: 'Cancel' }).click();
    await dialog.waitFor({ state: 'detached' });
    assert.equal(await row.count(), 1);
    // Delete removes it, and leaves the open chat for the page without one.
    await row.getByTestId('chat-session-delete').click();
    await dialog.getByTestId('chat-delete-confirm').click();
    await row.waitFor({ state: 'detached' });
    await page.waitForURL(`${pharos.base}/assistant`);
    await page.getByTestId('assistant-start').waitFor();
    assert.equal((await pharos.api('GET', `/api/v1/chat/sessions/${encodeURIComponent(failedSession)}`)).status, 404);
    await sessionRow(page, firstSession).waitFor();
    await screenshot(page, 'assistant-05-deleted');
    expectProblems(problems, page);
    await page.close();
  });

  test('no browser problem went unclaimed', () => {
    assert.deepEqual(problems.filter((p) => !p.claimed).map(describeProblem), []);
  });
});

describe('the assistant without a language model', () => {
  let pharos;
  let browser;
  let context;
  let problems;

  before(async () => {
    pharos = await startPharos();
    ({ browser, context, problems } = await launchBrowser());
    await logIn(context, pharos, problems);
  });

  after(async () => {
    await browser?.close();
    await pharos?.stop();
  });

  test('the page says how to configure one, and the chat input is off', async () => {
    const personas = await pharos.api('GET', '/api/v1/personas');
    assert.equal(personas.status, 200, personas.text);
    assert.equal(personas.json.llm.configured, false, personas.text);
    const page = await context.newPage();
    await page.goto(`${pharos.base}/assistant`);
    const notice = page.getByTestId('assistant-llm-notice');
    await notice.waitFor();
    assert.equal((await notice.innerText()).trim(), NOTICE);
    assert.equal(await page.getByTestId('chat-input').isDisabled(), true);
    assert.equal(await page.getByTestId('chat-send').isDisabled(), true);
    assert.equal(await page.getByTestId('chat-new').isDisabled(), true);
    await screenshot(page, 'assistant-06-no-llm');
    expectProblems(problems, page);
    await page.close();
  });

  test('the Incidents view works without a model: an empty window says so, an error shows the server message', async () => {
    const page = await context.newPage();
    await page.goto(`${pharos.base}/assistant`);
    await page.getByTestId('assistant-llm-notice').waitFor();
    let answered = rcaResponse(page);
    await page.getByTestId('assistant-view-incidents').click();
    await page.waitForURL(`${pharos.base}/assistant?view=incidents`);
    await page.getByTestId('incidents-view').waitFor();
    let response = await answered;
    assert.equal(response.status(), 200);
    assert.deepEqual(response.request().postDataJSON(), { start: 'now-6h', end: 'now' }, 'the default window is 6 h');
    assert.equal((await response.json()).incidents.length, 0, 'no data, no incidents');
    await page.getByTestId('incidents-empty').waitFor();
    assert.equal((await page.getByTestId('incidents-empty').innerText()).trim(), 'No incidents in this window');
    assert.equal(await page.getByTestId('incident-row').count(), 0);
    assert.equal(await page.getByTestId('assistant-llm-notice').count(), 0, 'the model notice belongs to the chat');
    assert.equal(await page.locator('[data-testid="incidents-window"] [aria-pressed="true"]').getAttribute('data-window'), '6h');

    // A failure shows the server's own message, and Retry/Refresh recovers.
    const MESSAGE = 'the metrics store is not ready yet (from the test)';
    await page.route(`**${RCA}`, (route) => route.fulfill({ status: 503, contentType: 'application/json', body: JSON.stringify({ message: MESSAGE }) }));
    await page.getByTestId('incidents-refresh').click();
    await page.getByTestId('incidents-error').waitFor();
    const shown = await page.getByTestId('incidents-error').innerText();
    assert.ok(shown.includes(MESSAGE), `the error shows the server's message: ${shown}`);
    assert.equal(await page.getByTestId('incidents-empty').count(), 0);
    await screenshot(page, 'assistant-07-incidents-error');
    await page.unroute(`**${RCA}`);

    // The window picker: 24 h, kept in the address (a reload shows the same view and window).
    answered = rcaResponse(page);
    await page.locator('[data-testid="incidents-window"] [data-window="24h"]').click();
    response = await answered;
    assert.deepEqual(response.request().postDataJSON(), { start: 'now-24h', end: 'now' });
    await page.getByTestId('incidents-empty').waitFor();
    assert.equal(await page.getByTestId('incidents-error').count(), 0);
    assert.equal(new URL(page.url()).searchParams.get('window'), '24h');
    answered = rcaResponse(page);
    await page.reload();
    assert.deepEqual((await answered).request().postDataJSON(), { start: 'now-24h', end: 'now' });
    await page.getByTestId('incidents-empty').waitFor();
    // Back to the chat.
    await page.getByTestId('assistant-view-chat').click();
    await page.waitForURL(`${pharos.base}/assistant`);
    await page.getByTestId('assistant-llm-notice').waitFor();
    // Chromium may log the 503 as a failed resource: that one is expected.
    for (const p of problems) if (p.page === page && /status of 503/.test(p.text) && p.resource.endsWith(RCA)) p.claimed = true;
    expectProblems(problems, page);
    await page.close();
  });

  test('no browser problem went unclaimed', () => {
    assert.deepEqual(problems.filter((p) => !p.claimed).map(describeProblem), []);
  });
});

describe('the Incidents view on the demo', () => {
  let pharos;
  let browser;
  let context;
  let problems;

  before(async () => {
    pharos = await startPharos({ demo: true });
    ({ browser, context, problems } = await launchBrowser());
    await logIn(context, pharos, problems);
    // The simulator backfills 6 h and injects an incident every 20-50 simulated minutes: wait
    // until the analysis of the last 6 h finds one.
    const deadline = Date.now() + 240_000;
    for (;;) {
      const rca = await pharos.api('POST', RCA, { start: 'now-6h' });
      if (rca.status === 200 && rca.json.incidents.length > 0) break;
      assert.ok(Date.now() < deadline, `no incident in the last 6 h within 240 s: ${rca.status} ${rca.text.slice(0, 300)}`);
      await sleep(2000);
    }
  });

  after(async () => {
    await browser?.close();
    await pharos?.stop();
  });

  test('lists the incidents the analysis finds, newest first, with ranked suspects, evidence and the report', async () => {
    const page = await context.newPage();
    await page.goto(`${pharos.base}/assistant`);
    await page.getByTestId('assistant-start').waitFor();
    const answered = rcaResponse(page);
    await page.getByTestId('assistant-view-incidents').click();
    await page.waitForURL(`${pharos.base}/assistant?view=incidents`);
    const response = await answered;
    assert.equal(response.status(), 200);
    const report = await response.json();
    writeArtifact('assistant-rca.json', report);
    assert.ok(report.incidents.length > 0, 'the page got incidents');
    await page.getByTestId('incident-row').first().waitFor();
    assert.equal(await page.getByTestId('incidents-loading').count(), 0);
    // As many rows as the page's answer has incidents, newest first.
    const ids = await incidentIds(page);
    const newestFirst = [...report.incidents].sort((a, b) => b.start - a.start || b.id - a.id).map((i) => i.id);
    assert.deepEqual(ids, newestFirst);
    const first = report.incidents.find((i) => i.id === ids[0]);
    const row = page.locator(`[data-testid="incident-row"][data-incident-id="${first.id}"]`);
    assert.equal((await row.getByTestId('incident-text').innerText()).trim(), first.summary);
    assert.equal((await row.getByTestId('incident-score').innerText()).trim(), `score ${first.score.toFixed(2)}`);
    assert.equal(await row.getByTestId('suspect-row').count(), 0, 'collapsed');

    // Expanded: its ranked suspects; the first is the API's rank 1, kind and entity alike.
    await row.getByTestId('incident-summary').click();
    const suspects = row.getByTestId('suspect-row');
    await suspects.first().waitFor();
    const expected = first.suspects.map((i) => report.suspects[i]);
    assert.equal(await suspects.count(), expected.length);
    assert.deepEqual(
      await suspects.evaluateAll((rows) => rows.map((r) => ({ rank: Number(r.dataset.rank), kind: r.dataset.kind }))),
      expected.map((s) => ({ rank: s.rank, kind: s.kind })),
    );
    const top = expected[0];
    assert.equal(top.rank, 1);
    const topRow = suspects.first();
    assert.equal(await topRow.getAttribute('data-rank'), '1');
    assert.equal(await topRow.getAttribute('data-kind'), top.kind);
    const labels = await topRow.getByTestId('suspect-label').evaluateAll((chips) => Object.fromEntries(chips.map((c) => [c.dataset.name, c.dataset.value])));
    assert.deepEqual(labels, top.entity);
    assert.deepEqual(await topRow.getByTestId('suspect-why').allInnerTexts(), top.why);
    assert.ok(top.evidence.length > 0, `the top suspect has evidence: ${JSON.stringify(top)}`);
    assert.deepEqual(await topRow.getByTestId('evidence-query').allInnerTexts(), top.evidence.map((e) => e.query));
    const font = await topRow.getByTestId('evidence-query').first().evaluate((el) => getComputedStyle(el).fontFamily);
    assert.match(font, /monospace/);
    assert.equal(await topRow.getByTestId('evidence-values').count(), top.evidence.filter((e) => e.values.length > 0).length);
    assert.equal(await topRow.getByTestId('suspect-alert').count(), top.alerts?.length ?? 0);
    await screenshot(page, 'assistant-08-incidents');

    // The report: a .md link to the page's own Markdown.
    const link = page.getByTestId('incidents-download');
    assert.match(await link.getAttribute('download'), /^rca-6h-.*\.md$/);
    // (Clicked: the page's CSP lets no script fetch a blob: URL.)
    const downloaded = page.waitForEvent('download');
    await link.click();
    const download = await downloaded;
    assert.match(download.suggestedFilename(), /^rca-6h-.*\.md$/);
    const markdown = readFileSync(await download.path(), 'utf8');
    assert.match(markdown, /^# Root-cause analysis/);
    assert.equal(markdown, report.report_markdown);

    // Refresh asks again, and the rows follow the new answer.
    const again = rcaResponse(page);
    await page.getByTestId('incidents-refresh').click();
    const refreshed = await (await again).json();
    await page.waitForFunction(() => !document.querySelector('[data-testid="incidents-loading"]'));
    assert.equal(await page.getByTestId('incident-row').count(), refreshed.incidents.length);
    expectProblems(problems, page);
    await page.close();
  });

  test('no browser problem went unclaimed', () => {
    assert.deepEqual(problems.filter((p) => !p.claimed).map(describeProblem), []);
  });
});
