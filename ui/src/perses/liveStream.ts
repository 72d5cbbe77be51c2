// Live dashboards (docs/user/ui.md, "Live mode"): the server pushes every panel query's window on
// clock-aligned ticks over Server-Sent Events (`…/dashboards/{d}/stream`, docs/user/query-layer.md).
// This module keeps the latest answer per rendered query and hands it to the Perses Prometheus
// plugin instead of the network: sessionFetch.ts asks `answerFromLiveStream` before sending a
// proxied `query_range`. A query is answered locally only when the stream answered the same
// question (same PromQL text, datasource and range length) and the answer is at most two
// refresh intervals old, at the stream's step or a multiple of it (the Perses plugin's step is at
// least the datasource's scrape interval, 1m unless it says otherwise); anything else goes to the
// network as before. No React here.

/** What the page's live connection is doing. `polling`: given up, Perses polls as usual. */
export type LiveState = 'connecting' | 'live' | 'reconnecting' | 'polling';

/** Failed reconnects in a row before the page falls back to polling. */
const MAX_RECONNECTS = 3;

interface HelloQuery {
  panel: string;
  index: number;
  query: string | null;
  error: string | null;
}

interface Hello {
  project: string;
  dashboard: string;
  range_ms: number;
  step_ms: number;
  refresh_ms: number;
  queries: HelloQuery[];
}

interface MatrixSeries {
  metric: Record<string, string>;
  values?: Array<[number, string]>;
  histograms?: Array<[number, unknown]>;
}

interface DataEvent {
  panel: string;
  index: number;
  at: number;
  status: 'success' | 'error';
  data?: { resultType: string; result: unknown[] };
  warnings?: string[];
  infos?: string[];
}

interface Answer {
  /** When this page got it (the browser's clock: the server's may differ). */
  receivedAt: number;
  data: { resultType: string; result: unknown[] };
  warnings: string[];
  infos: string[];
}

/** `''` stands for "the default datasource" (the panel query names none). */
type DatasourceKey = string;

/** The answers of one open stream (replaced on every `hello`, i.e. on every (re)connection). */
class LiveAnswers {
  readonly project: string;
  readonly rangeMs: number;
  readonly stepMs: number;
  readonly refreshMs: number;
  /** Events per round. */
  readonly size: number;
  private readonly queries = new Map<string, { text: string; datasource: DatasourceKey }>();
  /** Which datasources each rendered query text is asked of (more than one: answer by name only). */
  private readonly datasources = new Map<string, Set<DatasourceKey>>();
  private readonly answers = new Map<string, Answer>();

  constructor(hello: Hello, datasourceOf: (panel: string, index: number) => string | undefined) {
    this.project = hello.project;
    this.rangeMs = hello.range_ms;
    this.stepMs = hello.step_ms;
    this.refreshMs = hello.refresh_ms;
    this.size = hello.queries.length;
    for (const q of hello.queries) {
      if (typeof q.query !== 'string') continue;
      const datasource = datasourceOf(q.panel, q.index) ?? '';
      this.queries.set(`${q.panel}\u0000${q.index}`, { text: q.query, datasource });
      const known = this.datasources.get(q.query) ?? new Set<DatasourceKey>();
      known.add(datasource);
      this.datasources.set(q.query, known);
    }
  }

  put(event: DataEvent): void {
    const query = this.queries.get(`${event.panel}\u0000${event.index}`);
    if (!query) return;
    const key = `${query.datasource}\u0000${query.text}`;
    // An error is not kept: the panel asks the proxy, which says what is wrong.
    if (event.status !== 'success' || !event.data) {
      this.answers.delete(key);
      return;
    }
    this.answers.set(key, {
      receivedAt: Date.now(),
      data: event.data,
      warnings: event.warnings ?? [],
      infos: event.infos ?? [],
    });
  }

  /**
   * The answer to `question` if this stream has a fresh one for that question: the same query
   * of the same datasource over the same length of time, at the stream's step or a multiple of it
   * on the same grid (every point such a query returns is then one of the stream's points).
   */
  find(question: Question): Answer | undefined {
    if (question.project !== this.project) return undefined;
    const streamStepS = this.stepMs / 1000;
    if (question.stepS < streamStepS - 1e-6 || !onGrid(question.stepS, streamStepS) || !onGrid(question.startS, streamStepS)) {
      return undefined;
    }
    const slack = 2 * Math.max(this.stepMs, question.stepS * 1000);
    if (Math.abs((question.endS - question.startS) * 1000 - this.rangeMs) > slack) return undefined;
    const asked = this.datasources.get(question.query);
    if (!asked) return undefined;
    let datasource: DatasourceKey;
    if (asked.has(question.datasource)) datasource = question.datasource;
    else if (asked.size === 1 && asked.has('')) datasource = '';
    else return undefined;
    const answer = this.answers.get(`${datasource}\u0000${question.query}`);
    if (!answer || Date.now() - answer.receivedAt > 2 * this.refreshMs + 1000) return undefined;
    return answer;
  }
}

/** Whether `value` is a whole multiple of `unit` (both seconds, possibly fractional). */
function onGrid(value: number, unit: number): boolean {
  if (!(unit > 0) || !(value >= 0)) return false;
  const ratio = value / unit;
  return Math.abs(ratio - Math.round(ratio)) < 1e-6;
}

/** A proxied range query, as the Perses Prometheus plugin sends it. */
interface Question {
  project: string;
  datasource: string;
  query: string;
  startS: number;
  endS: number;
  stepS: number;
}

const active = new Set<LiveAnswers>();

/** How the page's live connection is doing, for the indicator (and the browser tests). */
export interface LiveStats {
  /** `data` events received. */
  events: number;
  /** Complete rounds (every query of a tick answered). */
  rounds: number;
  /** Panel queries answered from the stream instead of the network. */
  answered: number;
}

let stats: LiveStats = { events: 0, rounds: 0, answered: 0 };
const listeners = new Set<() => void>();

function bump(change: Partial<Record<keyof LiveStats, number>>): void {
  stats = {
    events: stats.events + (change.events ?? 0),
    rounds: stats.rounds + (change.rounds ?? 0),
    answered: stats.answered + (change.answered ?? 0),
  };
  for (const listener of listeners) listener();
}

/** For `useSyncExternalStore`. */
export function subscribeLiveStats(listener: () => void): () => void {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

export function liveStats(): LiveStats {
  return stats;
}

const seg = encodeURIComponent;

/** The stream's address: range and refresh as durations, every variable value as `var-<name>`. */
export function liveStreamUrl(
  project: string,
  dashboard: string,
  range: string,
  refresh: string,
  variables: Record<string, string[]>,
): string {
  const params = new URLSearchParams({ range, refresh });
  for (const name of Object.keys(variables).sort()) {
    for (const value of variables[name] ?? []) params.append(`var-${name}`, value);
  }
  return `/api/v1/projects/${seg(project)}/dashboards/${seg(dashboard)}/stream?${params.toString()}`;
}

export interface LiveStreamHandlers {
  /** The datasource a panel query names (`spec.plugin.spec.datasource.name`), if any. */
  datasourceOf: (panel: string, index: number) => string | undefined;
  onState: (state: LiveState) => void;
  /** Every query of a tick was answered; not called for the first round after the page opened
   * the stream (the panels are loading the same data right then). */
  onRound: (at: number) => void;
}

/**
 * Opens the stream at `url`; returns its `close`. The browser reconnects by itself (sending
 * Last-Event-ID); a refusal (4xx, not an event stream) or more than three failed reconnects in a
 * row end it with `polling`.
 */
export function openLiveStream(url: string, handlers: LiveStreamHandlers): () => void {
  const source = new EventSource(url);
  let answers: LiveAnswers | undefined;
  let closed = false;
  let failures = 0;
  let hellos = 0;
  let firstRoundSeen = false;
  const perTick = new Map<number, number>();

  const forget = () => {
    if (answers) active.delete(answers);
    answers = undefined;
  };
  const stop = (state?: LiveState) => {
    if (closed) return;
    closed = true;
    source.close();
    forget();
    if (state) handlers.onState(state);
  };

  source.onopen = () => {
    if (closed) return;
    failures = 0;
    handlers.onState('live');
  };
  source.onerror = () => {
    if (closed) return;
    // CLOSED: the server refused (an error status or not an event stream); the browser gives up.
    if (source.readyState === EventSource.CLOSED) return stop('polling');
    failures += 1;
    // The first error is the dropped connection; then one per failed attempt.
    if (failures >= MAX_RECONNECTS + 1) return stop('polling');
    handlers.onState('reconnecting');
  };
  source.addEventListener('hello', (message) => {
    if (closed) return;
    let hello: Hello;
    try {
      hello = JSON.parse((message as MessageEvent<string>).data) as Hello;
    } catch {
      return;
    }
    forget();
    answers = new LiveAnswers(hello, handlers.datasourceOf);
    active.add(answers);
    hellos += 1;
    perTick.clear();
  });
  source.addEventListener('data', (message) => {
    if (closed || !answers) return;
    let event: DataEvent;
    try {
      event = JSON.parse((message as MessageEvent<string>).data) as DataEvent;
    } catch {
      return;
    }
    answers.put(event);
    const count = (perTick.get(event.at) ?? 0) + 1;
    perTick.set(event.at, count);
    bump({ events: 1 });
    if (count < answers.size) return;
    for (const at of perTick.keys()) if (at <= event.at) perTick.delete(at);
    bump({ rounds: 1 });
    const first = !firstRoundSeen && hellos === 1;
    firstRoundSeen = true;
    if (!first) handlers.onRound(event.at);
  });
  return () => stop();
}

const RANGE_PATH = /^\/proxy\/projects\/([^/]+)\/(?:dashboards\/[^/]+\/)?(?:datasources|globaldatasources)\/([^/]+)\/api\/v1\/query_range$/;

/** The parameters of a request: the address's, then a form body's. */
function parametersOf(url: URL, init?: RequestInit): URLSearchParams {
  const params = new URLSearchParams(url.search);
  const body = init?.body;
  let form: URLSearchParams | undefined;
  if (body instanceof URLSearchParams) form = body;
  else if (typeof body === 'string') form = new URLSearchParams(body);
  for (const [key, value] of form ?? []) params.append(key, value);
  return params;
}

function questionOf(input: RequestInfo | URL, init?: RequestInit): Question | undefined {
  // A Request's body cannot be read without consuming it; Perses sends a URL and an init.
  if (input instanceof Request) return undefined;
  const url = new URL(input instanceof URL ? input.href : input, window.location.origin);
  if (url.origin !== window.location.origin) return undefined;
  const path = RANGE_PATH.exec(url.pathname);
  if (!path) return undefined;
  const params = parametersOf(url, init);
  const query = params.get('query');
  const [startS, endS, stepS] = ['start', 'end', 'step'].map((name) => Number(params.get(name) ?? NaN));
  if (query === null || ![startS, endS, stepS].every((n) => Number.isFinite(n))) return undefined;
  return {
    project: decodeURIComponent(path[1] ?? ''),
    datasource: decodeURIComponent(path[2] ?? ''),
    query,
    startS: startS as number,
    endS: endS as number,
    stepS: stepS as number,
  };
}

/**
 * The stream's window as the question would have been answered: its points from `start` to
 * `end` every `step` (the Perses chart places points by step from the start it asked for, so no
 * other point may be there).
 */
function asAsked(data: Answer['data'], question: Question): Answer['data'] {
  if (data.resultType !== 'matrix') return data;
  const { startS, endS, stepS } = question;
  const asked = ([t]: [number, unknown]) => t >= startS - 1e-6 && t <= endS + 1e-6 && onGrid(t - startS, stepS);
  const result = (data.result as MatrixSeries[]).flatMap((series) => {
    const cut: MatrixSeries = { metric: series.metric };
    if (series.values) cut.values = series.values.filter(asked);
    if (series.histograms) cut.histograms = series.histograms.filter(asked);
    return (cut.values?.length ?? 0) + (cut.histograms?.length ?? 0) > 0 ? [cut] : [];
  });
  return { resultType: data.resultType, result };
}

/**
 * A local answer to a proxied Prometheus range query the live stream has just answered, as the
 * proxy would give it (with `X-Pharos-Cache: live`); `undefined` sends it to the network.
 */
export function answerFromLiveStream(input: RequestInfo | URL, init?: RequestInit): Response | undefined {
  if (active.size === 0) return undefined;
  const question = questionOf(input, init);
  if (!question) return undefined;
  for (const answers of active) {
    const answer = answers.find(question);
    if (!answer) continue;
    bump({ answered: 1 });
    const body: Record<string, unknown> = { status: 'success', data: asAsked(answer.data, question) };
    if (answer.warnings.length > 0) body.warnings = answer.warnings;
    if (answer.infos.length > 0) body.infos = answer.infos;
    return new Response(JSON.stringify(body), {
      status: 200,
      headers: { 'Content-Type': 'application/json', 'X-Pharos-Cache': 'live' },
    });
  }
  return undefined;
}
