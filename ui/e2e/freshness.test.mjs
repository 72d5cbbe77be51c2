// Freshness of live charts (issue 10, seed SC-002): a sample written to the embedded store and to
// the peers' real Prometheus (both by Prometheus remote-write 1.0, the protocol real senders use)
// appears on a live chart within one refresh interval. The dashboard is opened in live mode with
// the default 15 s interval, over datasources declared at 15 s resolution (`scrapeInterval`, which
// Perses never steps below: the embedded `local` has it, and so would a real Prometheus scraping
// every 15 s); each round writes a new value to both backends at once and times how long each
// panel's legend takes to show it. The delay distribution is written to
// e2e/artifacts/freshness.json.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { expectProblems, launchBrowser, logIn, prometheusUrl, startPharos, writeArtifact } from './harness.mjs';
import { summarize } from './flows.mjs';

const PROJECT = 'fresh';
const METRIC = 'pharos_freshness_probe';
const REFRESH_S = 15;
const ROUNDS = 6;
const prometheus = prometheusUrl();
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// --- Prometheus remote-write 1.0: a protobuf WriteRequest in a snappy block -------------------

function varint(value) {
  const bytes = [];
  let v = BigInt(value);
  do {
    let byte = Number(v & 0x7fn);
    v >>= 7n;
    if (v > 0n) byte |= 0x80;
    bytes.push(byte);
  } while (v > 0n);
  return Buffer.from(bytes);
}

/** A length-delimited protobuf field. */
const field = (number, payload) => Buffer.concat([varint((number << 3) | 2), varint(payload.length), payload]);

/** `prometheus.WriteRequest{timeseries: [{labels, samples: [{value, timestamp}]}]}` */
function writeRequest(series) {
  const timeseries = series.map(({ labels, value, timestampMs }) => {
    const sorted = Object.entries(labels).sort(([a], [b]) => (a < b ? -1 : 1));
    const labelFields = sorted.map(([name, v]) => field(1, Buffer.concat([field(1, Buffer.from(name)), field(2, Buffer.from(v))])));
    const number = Buffer.alloc(9);
    number[0] = (1 << 3) | 1; // field 1, 64-bit
    number.writeDoubleLE(value, 1);
    const sample = Buffer.concat([number, varint((2 << 3) | 0), varint(timestampMs)]);
    return field(1, Buffer.concat([...labelFields, field(2, sample)]));
  });
  return Buffer.concat(timeseries);
}

/** Snappy block format with literal elements only (valid input for every decoder). */
function snappyLiterals(data) {
  const parts = [varint(data.length)];
  for (let at = 0; at < data.length; at += 65_536) {
    const chunk = data.subarray(at, at + 65_536);
    const n = chunk.length - 1;
    parts.push(n < 60 ? Buffer.from([n << 2]) : n < 256 ? Buffer.from([60 << 2, n]) : Buffer.from([61 << 2, n & 0xff, n >> 8]));
    parts.push(chunk);
  }
  return Buffer.concat(parts);
}

async function remoteWrite(url, headers, series) {
  const response = await fetch(url, {
    method: 'POST',
    headers: {
      ...headers,
      'content-type': 'application/x-protobuf',
      'content-encoding': 'snappy',
      'x-prometheus-remote-write-version': '0.1.0',
    },
    body: snappyLiterals(writeRequest(series)),
  });
  assert.ok(response.status === 204 || response.status === 200, `${url}: ${response.status} ${await response.text()}`);
}

// ------------------------------------------------------------------------------------------------

function probePanel(title, datasource) {
  return {
    kind: 'Panel',
    spec: {
      display: { name: title },
      plugin: { kind: 'TimeSeriesChart', spec: { legend: { position: 'bottom', mode: 'table', values: ['last-number'] } } },
      queries: [
        {
          kind: 'TimeSeriesQuery',
          spec: {
            plugin: {
              kind: 'PrometheusTimeSeriesQuery',
              spec: { query: `last_over_time(${METRIC}[1m])`, datasource: { kind: 'PrometheusDatasource', name: datasource } },
            },
          },
        },
      ],
    },
  };
}

/** The legend text (series and last values) of the panel titled `title`. */
const legendText = (page, title) =>
  page
    .getByTestId('panel')
    .filter({ has: page.locator(`[id$="-title"]:text-is("${title}")`) })
    .locator('table')
    .innerText()
    .catch(() => '');

describe('freshness of live charts', { skip: prometheus ? false : 'PHAROS_TEST_PROMETHEUS_URL is unset (start the peers)' }, () => {
  let pharos;
  let browser;
  let context;
  let problems;

  before(async () => {
    pharos = await startPharos();
    const project = await pharos.api('POST', '/api/v1/projects', { kind: 'Project', metadata: { name: PROJECT }, spec: { namespaces: [PROJECT] } });
    assert.equal(project.status, 200, project.text);
    const datasource = await pharos.api('POST', `/api/v1/projects/${PROJECT}/datasources`, {
      kind: 'Datasource',
      metadata: { name: 'peer', project: PROJECT },
      spec: {
        default: false,
        plugin: { kind: 'PrometheusDatasource', spec: { proxy: { kind: 'HTTPProxy', spec: { url: prometheus } }, scrapeInterval: '15s' } },
      },
    });
    assert.equal(datasource.status, 200, datasource.text);
    const panels = { embedded: probePanel('Embedded store', 'local'), peer: probePanel('Prometheus', 'peer') };
    const items = Object.keys(panels).map((key, i) => ({ x: 0, y: i * 8, width: 24, height: 8, content: { $ref: `#/spec/panels/${key}` } }));
    const dashboard = await pharos.api('POST', `/api/v1/projects/${PROJECT}/dashboards`, {
      kind: 'Dashboard',
      metadata: { name: 'probe', project: PROJECT },
      spec: { display: { name: 'Freshness probe' }, duration: '5m', panels, layouts: [{ kind: 'Grid', spec: { items } }] },
    });
    assert.equal(dashboard.status, 200, dashboard.text);
    ({ browser, context, problems } = await launchBrowser());
    await logIn(context, pharos, problems);
  });

  after(async () => {
    await browser?.close();
    await pharos?.stop();
  });

  test(`a written sample is on the live chart within one refresh interval (${REFRESH_S} s)`, async () => {
    const write = async (value) => {
      const series = [{ labels: { __name__: METRIC, namespace: PROJECT, job: 'freshness' }, value, timestampMs: Date.now() }];
      const token = await pharos.token();
      await Promise.all([
        remoteWrite(`${pharos.base}/api/v1/write`, { authorization: `Bearer ${token}` }, series),
        remoteWrite(`${prometheus}/api/v1/write`, {}, series),
      ]);
    };
    // A first value, so both panels have a series before the page opens.
    // Below 1000, so the legend shows every digit (larger ones are shortened to "1.23K").
    const base = 100 + (Math.floor(Date.now() / 1000) % 80) * 10;
    await write(base);
    const page = await context.newPage();
    await page.goto(`${pharos.base}/projects/${PROJECT}/dashboards/probe?start=5m&refresh=${REFRESH_S}s`);
    const indicator = page.getByTestId('live-indicator');
    await indicator.waitFor();
    const deadline = Date.now() + 30_000;
    while ((await indicator.getAttribute('data-state')) !== 'live') {
      assert.ok(Date.now() < deadline, 'the dashboard did not go live within 30 s');
      await sleep(200);
    }
    for (const title of ['Embedded store', 'Prometheus']) {
      while (!(await legendText(page, title)).includes(String(base))) {
        assert.ok(Date.now() < deadline, `${title}: the first value never showed (${await legendText(page, title)})`);
        await sleep(200);
      }
    }

    const delays = { 'Embedded store': [], Prometheus: [] };
    for (let round = 1; round <= ROUNDS; round++) {
      // Spread the writes over the tick so the distribution covers early and late arrivals.
      await sleep(((round * 4100) % (REFRESH_S * 1000)) + 200);
      const value = base + round;
      const written = Date.now();
      await write(value);
      const seen = await page.waitForFunction(
        ([titles, text]) => {
          // When each panel first showed the value (the page's clock is the machine's clock).
          window.__pharosSeen ??= {};
          const seenAt = (window.__pharosSeen[text] ??= {});
          for (const panel of document.querySelectorAll('[data-testid="panel"]')) {
            const title = panel.querySelector('[id$="-title"]')?.textContent ?? '';
            if (titles.includes(title) && seenAt[title] === undefined && (panel.querySelector('table')?.innerText ?? '').includes(text)) {
              seenAt[title] = Date.now();
            }
          }
          return titles.every((t) => seenAt[t] !== undefined) ? seenAt : false;
        },
        [Object.keys(delays), String(value)],
        { polling: 50, timeout: (REFRESH_S + 20) * 1000 },
      );
      const seenAt = await seen.jsonValue();
      for (const title of Object.keys(delays)) delays[title].push(seenAt[title] - written);
    }
    const report = Object.fromEntries(Object.entries(delays).map(([title, ms]) => [title, { ...summarize(ms), all: ms }]));
    writeArtifact('freshness.json', { refreshSeconds: REFRESH_S, rounds: ROUNDS, delaysMs: report });
    console.log(`freshness (write → on the live chart, ms): ${JSON.stringify(report)}`);
    // One interval, plus the time to answer the tick's queries and draw (generous on 2 shared cores).
    for (const [title, { max }] of Object.entries(report)) {
      assert.ok(max <= REFRESH_S * 1000 + 2500, `${title}: a value took ${max} ms to show, more than one ${REFRESH_S} s interval`);
    }
    expectProblems(problems, page);
    await page.close();
  });
});
