// The assistant page (`/assistant`, docs/user/assistant.md) against a scripted OpenAI-compatible
// model: `pharos-fakes openai` run as its own process answers each chat-completions request with
// the next turn of a script file. Pharos runs without the demo; GPU utilisation of two clusters is
// remote-written into its embedded store, so the `query_metrics` tool the script calls has an
// answer. A question shows the tool call as a card (its arguments, then an ok result), the answer
// streamed piece by piece, and the same conversation again after a reload (from the API); a model
// that fails shows an error row and the next question works; Stop ends an answer that hangs;
// a chat is deleted after a confirmation. A Pharos without `assistant.llm` shows the notice and
// no input. No console or page error anywhere. No peers needed.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { after, before, describe, test } from 'node:test';
import { REPO_ROOT, describeProblem, expectProblems, launchBrowser, logIn, screenshot, startPharos, writeArtifact } from './harness.mjs';
import { remoteWrite } from './remote-write.mjs';

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

  test('no browser problem went unclaimed', () => {
    assert.deepEqual(problems.filter((p) => !p.claimed).map(describeProblem), []);
  });
});
