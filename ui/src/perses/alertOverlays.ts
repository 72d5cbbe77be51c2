// Alert thresholds and states on charts (docs/user/ui.md, "Alert thresholds on charts"). The server
// says, for every Prometheus panel query, which alerting rules watch the same expression, with the
// rule's threshold and its pending/firing intervals in the window
// (`GET …/dashboards/{d}/alerts?range=1h&var-…`, docs/user/query-layer.md). PersesDashboard.tsx
// fetches it and draws on each TimeSeriesChart panel with overlays:
//
// - the threshold as a dashed horizontal line named after the rule (red when the rule fires, orange
//   otherwise): added at render time to the panel spec's `thresholds`, which the Perses chart draws
//   as a series (so the y axis reaches it and the tooltip lists it); never saved;
// - the pending and firing intervals as translucent bands (orange, red) labelled with the rule: the
//   Perses panel passes no ECharts options through, so the chart's ECharts instance gets one more
//   series carrying a `markArea` (and the line's label as a `markLine`): `decorateChart` wraps the
//   instance's `setOption` so that every option Perses sets keeps that series. It is silent (no
//   mouse events), so tooltips, zoom and the legend work as before;
// - a chip above the chart per rule ("🔔 RuleName: firing").
// No React here.
import { connect, getInstanceByDom, type EChartsType } from 'echarts/core';
import { toZonedTime } from 'date-fns-tz';
import { isRelativeTimeRange, type StepOptions, type ThresholdOptions, type TimeRangeValue } from '@perses-dev/core';
import { request } from '../api/http';

export type AlertState = 'firing' | 'pending' | 'inactive';

export interface AlertInterval {
  state: 'pending' | 'firing';
  start: number;
  end: number;
}

/** One rule watching one panel query (the server's answer, docs/user/query-layer.md). */
export interface AlertOverlay {
  panel: string;
  index: number;
  rule: string;
  group: string;
  op: string;
  threshold: number;
  for_seconds: number;
  state: AlertState;
  intervals: AlertInterval[];
  labels?: Record<string, string> | null;
  annotations?: Record<string, string> | null;
  /** The intervals could not be read (the rule and threshold still apply). */
  error?: string | null;
}

export interface AlertOverlaysAnswer {
  start: number;
  end: number;
  step_ms: number;
  overlays: AlertOverlay[];
  errors: Array<{ panel: string; index: number; error: string }>;
}

/** The longest window the server answers for (the stream's limit). */
const MAX_RANGE_MS = 30 * 86_400_000;

/**
 * The `range` to ask for: a relative range as it is; an absolute one as "from its start until now"
 * (the server's window always ends now), so its intervals cover the range shown. Undefined when that
 * is longer than the server answers for (then there is nothing to draw).
 */
export function alertsRange(timeRange: TimeRangeValue, now = Date.now()): string | undefined {
  if (isRelativeTimeRange(timeRange)) return timeRange.pastDuration;
  const ms = now - new Date(timeRange.start).getTime();
  if (ms > MAX_RANGE_MS) return undefined;
  return `${Math.max(60, Math.ceil(ms / 1000))}s`;
}

const seg = encodeURIComponent;

export function alertsUrl(project: string, dashboard: string, range: string, variables: Record<string, string[]>): string {
  const params = new URLSearchParams({ range });
  for (const name of Object.keys(variables).sort()) {
    for (const value of variables[name] ?? []) params.append(`var-${name}`, value);
  }
  return `/api/v1/projects/${seg(project)}/dashboards/${seg(dashboard)}/alerts?${params.toString()}`;
}

export async function fetchAlertOverlays(url: string, signal?: AbortSignal): Promise<AlertOverlaysAnswer> {
  const answer = await request<AlertOverlaysAnswer>(url, { signal });
  const body = answer.body;
  return {
    start: Number(body?.start) || 0,
    end: Number(body?.end) || 0,
    step_ms: Number(body?.step_ms) || 0,
    overlays: Array.isArray(body?.overlays) ? body.overlays.filter((o) => typeof o?.panel === 'string' && Number.isFinite(o.threshold)) : [],
    errors: Array.isArray(body?.errors) ? body.errors : [],
  };
}

export interface OverlayColors {
  firing: string;
  pending: string;
  /** Band fills. */
  firingBand: string;
  pendingBand: string;
}

/** The threshold line's color: red while the rule fires, orange otherwise. */
export function lineColor(overlay: AlertOverlay, colors: OverlayColors): string {
  return overlay.state === 'firing' ? colors.firing : colors.pending;
}

/** "RuleName > 80": the name the line gets (and the tooltip shows). */
export function lineName(overlay: AlertOverlay): string {
  return `${overlay.rule} ${overlay.op} ${overlay.threshold}`;
}

/** One line per rule and threshold (a rule on two of the panel's queries draws once). */
function distinctLines(overlays: AlertOverlay[]): AlertOverlay[] {
  const seen = new Map<string, AlertOverlay>();
  for (const overlay of overlays) {
    const key = lineName(overlay);
    const known = seen.get(key);
    // The firing one wins the color.
    if (!known || (known.state !== 'firing' && overlay.state === 'firing')) seen.set(key, overlay);
  }
  return [...seen.values()];
}

/**
 * The panel's `thresholds` with the rules' lines added, and whether they are drawn that way. A panel
 * whose own thresholds are in percent keeps them; its rule lines are drawn by the overlay series.
 */
export function withRuleThresholds(
  thresholds: ThresholdOptions | undefined,
  overlays: AlertOverlay[],
  colors: OverlayColors,
): { thresholds: ThresholdOptions | undefined; drawn: boolean } {
  if (overlays.length === 0 || thresholds?.mode === 'percent') return { thresholds, drawn: false };
  const steps: StepOptions[] = [...(thresholds?.steps ?? [])];
  for (const overlay of distinctLines(overlays)) {
    steps.push({ value: overlay.threshold, color: lineColor(overlay, colors), name: lineName(overlay) });
  }
  return { thresholds: { ...thresholds, steps }, drawn: true };
}

/** The id of the series carrying the bands and the line labels. */
export const OVERLAY_SERIES_ID = 'pharos-alert-overlays';

export interface ChartWindow {
  startMs: number;
  endMs: number;
  /** The step of the server's intervals: a run of points lasts one step past its last point. */
  stepMs: number;
}

/**
 * The ECharts series with the bands (`markArea`) and the lines' labels (`markLine`; the lines
 * themselves too when the spec could not draw them). `timeZone` as the Perses chart converts its
 * times (`local`, or an IANA zone the x axis shows).
 */
export function overlaySeries(
  overlays: AlertOverlay[],
  colors: OverlayColors,
  window: ChartWindow,
  timeZone: string,
  linesDrawn: boolean,
): Record<string, unknown> {
  const x = (ms: number) => (timeZone === 'local' ? ms : toZonedTime(ms, timeZone));
  const span = Math.max(1, window.endMs - window.startMs);
  const bands: unknown[] = [];
  for (const overlay of overlays) {
    for (const interval of overlay.intervals ?? []) {
      const start = Math.max(window.startMs, interval.start);
      const end = Math.min(window.endMs, interval.end + window.stepMs);
      if (!(end > start)) continue;
      const firing = interval.state === 'firing';
      bands.push([
        {
          name: `${overlay.rule}: ${interval.state}`,
          xAxis: x(start),
          itemStyle: { color: firing ? colors.firingBand : colors.pendingBand },
          // A label where there is room for it (a tenth of the window).
          label: {
            show: (end - start) / span >= 0.1,
            color: firing ? colors.firing : colors.pending,
          },
        },
        { xAxis: x(end) },
      ]);
    }
  }
  const lines = distinctLines(overlays).map((overlay) => ({
    name: overlay.rule,
    yAxis: overlay.threshold,
    // Only the label when the spec's threshold series draws the line (a transparent line: with
    // `opacity: 0` ECharts hides the label too).
    lineStyle: { type: 'dashed', width: 2, color: linesDrawn ? 'transparent' : lineColor(overlay, colors) },
    label: { show: true, formatter: overlay.rule, position: 'insideEndTop', color: lineColor(overlay, colors), fontSize: 11 },
  }));
  return {
    id: OVERLAY_SERIES_ID,
    name: OVERLAY_SERIES_ID,
    type: 'line',
    data: [],
    silent: true,
    animation: false,
    showSymbol: false,
    z: 1,
    tooltip: { show: false },
    markArea: { silent: true, animation: false, label: { position: 'insideTopLeft', fontSize: 11 }, data: bands },
    markLine: { silent: true, animation: false, symbol: ['none', 'none'], data: lines },
  };
}

/** The ECharts group the Perses time-series panels share (crosshair, zoom). */
export const SYNC_GROUP = 'default-panel-group';

/**
 * The property of a panel's ECharts element holding its instance: ECharts keeps its instances to
 * itself, and the browser tests (and anyone in the console) read the drawn options through it.
 */
export const CHART_PROPERTY = '__pharosChart';

const DECORATION = Symbol('pharos chart decoration');
const GUARDED = Symbol('pharos tooltip guard');

interface Decoration {
  original: EChartsType['setOption'];
  series: Record<string, unknown> | undefined;
}

type DecoratedChart = EChartsType & { [DECORATION]?: Decoration };

interface TooltipView {
  type?: string;
  dispose?: (...args: unknown[]) => unknown;
  _refreshUpdateTimeout?: ReturnType<typeof setTimeout>;
  [GUARDED]?: true;
}

/**
 * ECharts 5.5.0 bug: a tooltip view that `setOption(…, true)` replaces still runs its pending "keep
 * the tooltip shown" timer, which throws "Cannot read properties of null (reading 'offsetWidth')"
 * (every drag-zoom after a hover did). Its `dispose` now clears that timer too. Private ECharts
 * fields: when they are not there, nothing happens.
 */
function guardTooltipViews(chart: EChartsType): void {
  const views = (chart as unknown as { _componentsViews?: unknown })._componentsViews;
  if (!Array.isArray(views)) return;
  for (const view of views as Array<TooltipView | null | undefined>) {
    if (!view || view.type !== 'tooltip' || view[GUARDED] || typeof view.dispose !== 'function') continue;
    const dispose = view.dispose;
    view.dispose = function disposeTooltip(this: TooltipView, ...args: unknown[]) {
      clearTimeout(this._refreshUpdateTimeout);
      return dispose.apply(this, args);
    };
    view[GUARDED] = true;
  }
}

/** `option` with `series` in its series (only for a chart with series: not the "No data" option). */
function withSeries(option: unknown, series: Record<string, unknown> | undefined): unknown {
  if (!series || !option || typeof option !== 'object') return option;
  const all = (option as { series?: unknown }).series;
  if (!Array.isArray(all) || all.length === 0) return option;
  const others = all.filter((s) => (s as { id?: unknown } | null)?.id !== OVERLAY_SERIES_ID);
  return { ...(option as Record<string, unknown>), series: [...others, series] };
}

function hasSeries(chart: EChartsType): boolean {
  const series = (chart.getOption() as { series?: unknown[] } | undefined)?.series;
  return Array.isArray(series) && series.some((s) => (s as { id?: unknown } | null)?.id !== OVERLAY_SERIES_ID);
}

/**
 * Finds the ECharts instance under `container` (the Perses chart draws into the first element ECharts
 * marks) and keeps `series` in it from now on (undefined: none, or no more), and the panel in the
 * shared group when `sync` (Perses sets it once, a chart drawn again for a new theme loses it).
 */
export function decorateChart(container: HTMLElement | null, series: Record<string, unknown> | undefined, sync: boolean): void {
  const element = container?.querySelector<HTMLElement>('[_echarts_instance_]');
  if (!element) return;
  const chart = getInstanceByDom(element) as DecoratedChart | undefined;
  if (!chart || chart.isDisposed()) return;
  (element as HTMLElement & Record<string, unknown>)[CHART_PROPERTY] = chart;
  if (sync && chart.group !== SYNC_GROUP) {
    chart.group = SYNC_GROUP;
    connect(SYNC_GROUP);
  }
  let decoration = chart[DECORATION];
  if (!decoration) {
    const original = chart.setOption;
    const state: Decoration = { original, series: undefined };
    chart.setOption = function setOption(this: EChartsType, option: unknown, ...rest: unknown[]) {
      (original as (...args: unknown[]) => void).call(this, withSeries(option, state.series), ...rest);
      guardTooltipViews(this);
    } as EChartsType['setOption'];
    chart[DECORATION] = state;
    decoration = state;
    guardTooltipViews(chart);
  }
  if (decoration.series === series) return;
  decoration.series = series;
  if (!hasSeries(chart)) return;
  // A merge: only this series changes. Gone overlays leave an empty one behind (a merge cannot remove).
  const next = series ?? { id: OVERLAY_SERIES_ID, type: 'line', data: [], markArea: { data: [] }, markLine: { data: [] } };
  (decoration.original as (...args: unknown[]) => void).call(chart, { series: [next] });
  guardTooltipViews(chart);
}
