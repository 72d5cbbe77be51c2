// All Perses wiring in one place: the provider tree the Perses packages need around the dashboard
// (view, edit mode, panel editor, variables, datasources, JSON view). An upgrade of the @perses-dev
// packages should only touch this folder. Loaded lazily by the dashboard page, so lists and other
// pages never download the ~1 MB of chart and editor code.
//
// `DashboardView` is Perses' `ViewDashboard` with one provider of its own: the time range provider
// can stop Perses' polling while the server pushes the data (live mode, liveStream.ts) and the
// refresh picker still shows the chosen interval. Panel plugins get a stale marker
// (components/PanelNotices.tsx). Time-series panels also get the alert rules watching their queries
// (threshold line, pending/firing bands, a chip: alertOverlays.ts), "Compare with…" an earlier time
// (timeShift.ts, components/TimeShiftMenu.tsx) and share the crosshair and zoom.
import {
  createContext,
  useCallback,
  useContext,
  useEffect,
  useMemo,
  useRef,
  useState,
  type ComponentType,
  type ReactNode,
} from 'react';
import { Box, ThemeProvider, Tooltip, alpha, useTheme, type SxProps, type Theme } from '@mui/material';
import { Bell } from 'mdi-material-ui';
import { QueryClient, QueryClientProvider } from '@tanstack/react-query';
import { JsonParam, QueryParamProvider, useQueryParam } from 'use-query-params';
import { ReactRouter6Adapter } from 'use-query-params/adapters/react-router-6';
import { milliseconds } from 'date-fns';
import {
  DEFAULT_DASHBOARD_DURATION,
  DEFAULT_REFRESH_INTERVAL,
  isRelativeTimeRange,
  parseDurationString,
  type BuiltinVariableDefinition,
  type DashboardResource,
  type DurationString,
  type PanelDefinition,
  type QueryDefinition,
  type TimeRangeValue,
  type UnknownSpec,
} from '@perses-dev/core';
import {
  ChartsProvider,
  ErrorAlert,
  ErrorBoundary,
  SnackbarProvider,
  TimeZoneProvider,
  combineSx,
  generateChartsTheme,
  getTheme,
  useTimeZone,
} from '@perses-dev/components';
import {
  PluginRegistry,
  ReactRouterProvider,
  TimeRangeContext,
  TimeRangeProvider,
  TimeRangeSettingsProvider,
  ValidationProvider,
  useInitialRefreshInterval,
  useInitialTimeRange,
  usePluginBuiltinVariableDefinitions,
  useSetRefreshIntervalParams,
  useTimeRange,
  useSuggestedStepMs,
  useTimeRangeParams,
  useTimeSeriesQueries,
  useVariableValues,
  type PanelPlugin,
  type PanelProps,
  type PluginLoader,
  type PluginModuleResource,
  type TimeSeriesQueryPlugin,
} from '@perses-dev/plugin-system';
import {
  DashboardProvider,
  DatasourceStoreProvider,
  VariableProviderWithQueryParams,
  useDashboard,
  useEditMode,
  usePanelEditor,
  type DatasourceApi,
} from '@perses-dev/dashboards';
// What ViewDashboard renders inside its providers (toolbar, grid, dialogs); not in the package index.
import { DashboardApp } from '@perses-dev/dashboards/dist/views/ViewDashboard/DashboardApp';
import { useColorMode } from '../theme/colorMode';
import { LiveIndicator } from '../components/LiveIndicator';
import { withPanelNotices } from '../components/PanelNotices';
import {
  CHIP_HEIGHT,
  TimeShiftAction,
  TimeShiftChip,
  TimeShiftContext,
  TimeShiftMenu,
  type TimeShiftControl,
} from '../components/TimeShiftMenu';
import {
  alertsRange,
  alertsUrl,
  decorateChart,
  fetchAlertOverlays,
  overlaySeries,
  withRuleThresholds,
  type AlertOverlay,
  type AlertOverlaysAnswer,
  type OverlayColors,
} from './alertOverlays';
import { CurrentViewBridge, type CurrentView } from './currentView';
import { datasourceApiFor } from './datasourceApi';
import { liveStreamUrl, openLiveStream, type LiveState } from './liveStream';
import { installSessionFetch } from './sessionFetch';
import { defaultPluginKinds, pluginLoader } from './plugins';
import { TIME_RANGE_OPTIONS } from './timeRanges';
import { SHIFTABLE_QUERY_KIND, shiftedQueries, withTimeShift, type TimeShift } from './timeShift';

installSessionFetch();

// Every panel plugin with the stale marker; time-series panels with the alert overlays and the
// comparison, the Prometheus query plugin able to run shifted copies.
const markedPluginLoader = withChartOverlays(withPanelNotices(pluginLoader));

export interface PersesDashboardProps {
  /** The dashboard as loaded; later changes of this prop are ignored (remount with a `key`). */
  dashboard: DashboardResource;
  /** Open in edit mode (a dashboard that was just created). */
  startEditing?: boolean;
  /** Stores the dashboard; rejecting keeps Perses in edit mode with the user's changes. */
  onSave?: (dashboard: DashboardResource) => Promise<unknown>;
  /** Shown in place of the dashboard name in the toolbar. */
  title: ReactNode;
  /** Shown after the title; gets the current time range and variable values on demand. */
  actions?: (current: () => CurrentView) => ReactNode;
  /** Read-only: no Edit button, no editing of variables or datasources (a shared link). */
  readOnly?: boolean;
  /** Where datasources are looked up and queried; by default the project's, via its proxy. */
  datasourceApi?: DatasourceApi;
  /** An IANA time zone or `UTC` for the time axis and picker; the browser's by default. */
  timeZone?: string;
  /**
   * Live mode: with a refresh interval and a relative time range, the server pushes the panels'
   * data over the dashboard's stream instead of the page polling (needs a signed-in viewer of
   * the stored dashboard; not for share links).
   */
  live?: boolean;
  /**
   * Draw the alerting rules that watch the panels' queries: threshold lines, pending and firing
   * bands, a chip per rule (needs a signed-in viewer of the stored dashboard; not for share links).
   */
  alerts?: boolean;
}

// The read-only view hides the toolbar's Edit button: it is the sibling after the title.
const readOnlySx = { '& .pharos-readonly-title ~ *': { display: 'none' } };

/** The Perses dashboard view and editor for one dashboard. */
export default function PersesDashboard({
  dashboard,
  startEditing = false,
  onSave,
  title,
  actions,
  readOnly = false,
  datasourceApi: givenDatasourceApi,
  timeZone,
  live = false,
  alerts = false,
}: PersesDashboardProps) {
  const { mode } = useColorMode();
  const muiTheme = useMemo(() => getTheme(mode), [mode]);
  const chartsTheme = useMemo(() => generateChartsTheme(muiTheme, {}), [muiTheme]);
  const project = dashboard.metadata.project;
  const datasourceApi = useMemo(() => givenDatasourceApi ?? datasourceApiFor(project), [givenDatasourceApi, project]);
  // One cache per mounted dashboard: a remount (after "load the latest version") starts clean.
  // A refresh (the picker's interval, a live round) keeps showing the previous answer until the
  // new one is there, instead of the panel's loading skeleton.
  const [queryClient] = useState(
    () => new QueryClient({ defaultOptions: { queries: { refetchOnWindowFocus: false, retry: 0, keepPreviousData: true } } }),
  );

  return (
    <QueryParamProvider adapter={ReactRouter6Adapter}>
      <ReactRouterProvider>
        <QueryClientProvider client={queryClient}>
          <ThemeProvider theme={muiTheme}>
            {/* Time-series panels share the crosshair (and a drag-zoom sets the dashboard's range). */}
            <ChartsProvider chartsTheme={chartsTheme} enableSyncGrouping>
              <SnackbarProvider anchorOrigin={{ vertical: 'bottom', horizontal: 'right' }} preventDuplicate>
                <TimeZoneProvider timeZone={timeZone}>
                  <TimeRangeSettingsProvider showCustom options={TIME_RANGE_OPTIONS}>
                    <PluginRegistry pluginLoader={markedPluginLoader} defaultPluginKinds={defaultPluginKinds}>
                      <ValidationProvider>
                        <DashboardView
                          dashboard={dashboard}
                          datasourceApi={datasourceApi}
                          readOnly={readOnly}
                          isEditing={startEditing && !readOnly}
                          live={live && !readOnly}
                          alerts={alerts && !readOnly}
                          title={
                            <>
                              {title}
                              {actions ? <CurrentViewBridge dashboard={dashboard} render={actions} /> : null}
                            </>
                          }
                          titleClassName={readOnly ? 'pharos-readonly-title' : undefined}
                          sx={readOnly ? readOnlySx : undefined}
                          onSave={readOnly ? undefined : onSave}
                        />
                      </ValidationProvider>
                    </PluginRegistry>
                  </TimeRangeSettingsProvider>
                </TimeZoneProvider>
              </SnackbarProvider>
            </ChartsProvider>
          </ThemeProvider>
        </QueryClientProvider>
      </ReactRouterProvider>
    </QueryParamProvider>
  );
}

interface DashboardViewProps {
  dashboard: DashboardResource;
  datasourceApi: DatasourceApi;
  readOnly: boolean;
  isEditing: boolean;
  live: boolean;
  alerts: boolean;
  title: ReactNode;
  titleClassName?: string;
  sx?: SxProps<Theme>;
  onSave?: (dashboard: DashboardResource) => Promise<unknown>;
}

function intervalMs(interval: DurationString | undefined): number {
  if (!interval) return 0;
  try {
    return milliseconds(parseDurationString(interval));
  } catch {
    return 0;
  }
}

/** What live mode would stream now: the relative range and the refresh interval, or nothing. */
function liveWindow(timeRange: TimeRangeValue, refreshInterval: DurationString | undefined): { range: string; refresh: string } | undefined {
  if (!isRelativeTimeRange(timeRange) || !refreshInterval || intervalMs(refreshInterval) <= 0) return undefined;
  return { range: timeRange.pastDuration, refresh: refreshInterval };
}

/** Perses' `ViewDashboard` (0.52), with `LiveTimeRangeProvider` for its time range provider. */
function DashboardView({ dashboard, datasourceApi, readOnly, isEditing, live, alerts, title, titleClassName, sx, onSave }: DashboardViewProps) {
  const { spec } = dashboard;
  const initialTimeRange = useInitialTimeRange(spec.duration ?? DEFAULT_DASHBOARD_DURATION);
  const initialRefreshInterval = useInitialRefreshInterval(spec.refreshInterval ?? DEFAULT_REFRESH_INTERVAL);
  const { data } = usePluginBuiltinVariableDefinitions();
  const builtinVariables = useMemo(() => {
    const result: BuiltinVariableDefinition[] = [
      {
        kind: 'BuiltinVariable',
        spec: {
          name: '__dashboard',
          value: () => dashboard.metadata.name,
          source: 'Dashboard',
          display: { name: '__dashboard', description: 'The name of the current dashboard', hidden: true },
        },
      },
      {
        kind: 'BuiltinVariable',
        spec: {
          name: '__project',
          value: () => dashboard.metadata.project,
          source: 'Dashboard',
          display: { name: '__project', description: 'The name of the current dashboard project', hidden: true },
        },
      },
    ];
    for (const definition of data ?? []) result.push(definition);
    return result;
  }, [dashboard.metadata.name, dashboard.metadata.project, data]);
  const [viewPanelRef, setViewPanelRef] = useQueryParam('viewPanelRef', JsonParam);
  // Perses polls unless the live layer says the server pushes; from the first render on, so a
  // live page does not poll once before the stream is open.
  const [streaming, setStreaming] = useState(() => live && !isEditing && liveWindow(initialTimeRange, initialRefreshInterval) !== undefined);

  return (
    <DatasourceStoreProvider dashboardResource={dashboard} datasourceApi={datasourceApi}>
      <DashboardProvider
        initialState={{ isEditMode: isEditing, dashboardResource: dashboard, viewPanelRef: viewPanelRef ?? undefined, setViewPanelRef }}
      >
        <LiveTimeRangeProvider initialTimeRange={initialTimeRange} initialRefreshInterval={initialRefreshInterval} paused={streaming}>
          <VariableProviderWithQueryParams initialVariableDefinitions={spec.variables} builtinVariableDefinitions={builtinVariables}>
            <ChartOverlaysLayer dashboard={dashboard} alerts={alerts} timeShift={!readOnly}>
              <LiveLayer dashboard={dashboard} live={live} onStreaming={setStreaming}>
                {(indicator) => (
                  <Box
                    sx={combineSx({ display: 'flex', width: '100%', height: '100%', position: 'relative', overflow: 'hidden' }, sx)}
                  >
                    <ErrorBoundary FallbackComponent={ErrorAlert}>
                      <DashboardApp
                        dashboardResource={dashboard}
                        isReadonly={readOnly}
                        isVariableEnabled={!readOnly}
                        isDatasourceEnabled={!readOnly}
                        isLeavingConfirmDialogEnabled={!readOnly}
                        dashboardTitleComponent={
                          <Box
                            className={titleClassName}
                            sx={{ display: 'flex', alignItems: 'center', gap: 1, minWidth: 0, flexGrow: readOnly ? 1 : 0 }}
                          >
                            {title}
                            {indicator}
                          </Box>
                        }
                        // Only Dashboard resources are opened here, never ephemeral ones.
                        onSave={onSave ? (saved) => onSave(saved as DashboardResource) : undefined}
                      />
                    </ErrorBoundary>
                  </Box>
                )}
              </LiveLayer>
            </ChartOverlaysLayer>
          </VariableProviderWithQueryParams>
        </LiveTimeRangeProvider>
      </DashboardProvider>
    </DatasourceStoreProvider>
  );
}

/**
 * Perses' `TimeRangeProviderWithQueryParams`, except that while `paused` its refresh timer does
 * not run (the provider gets `0s`) and the context still says the interval chosen in the address,
 * so the picker shows it and live mode knows it.
 */
function LiveTimeRangeProvider({
  initialTimeRange,
  initialRefreshInterval,
  paused,
  children,
}: {
  initialTimeRange: TimeRangeValue;
  initialRefreshInterval: DurationString;
  paused: boolean;
  children: ReactNode;
}) {
  const { timeRange, setTimeRange } = useTimeRangeParams(initialTimeRange);
  const { refreshInterval, setRefreshInterval } = useSetRefreshIntervalParams(initialRefreshInterval);
  return (
    <TimeRangeProvider
      timeRange={timeRange}
      refreshInterval={paused ? '0s' : refreshInterval}
      setTimeRange={setTimeRange}
      setRefreshInterval={setRefreshInterval}
    >
      <ChosenRefreshInterval refreshInterval={refreshInterval}>{children}</ChosenRefreshInterval>
    </TimeRangeProvider>
  );
}

function ChosenRefreshInterval({ refreshInterval, children }: { refreshInterval: DurationString | undefined; children: ReactNode }) {
  const inner = useTimeRange();
  const value = useMemo(
    () =>
      inner.refreshInterval === refreshInterval
        ? inner
        : { ...inner, refreshInterval, refreshIntervalInMs: intervalMs(refreshInterval) },
    [inner, refreshInterval],
  );
  return <TimeRangeContext.Provider value={value}>{children}</TimeRangeContext.Provider>;
}

/** The variables' current values, an "All" already expanded as the queries get it. */
function useCurrentVariables(dashboard: DashboardResource): { variables: Record<string, string[]>; loading: boolean } {
  const names = useMemo(() => (dashboard.spec.variables ?? []).map((v) => v.spec.name), [dashboard]);
  const values = useVariableValues(names);
  const loading = names.some((name) => values[name]?.loading);
  const variables: Record<string, string[]> = {};
  for (const name of names) {
    const value = values[name]?.value;
    if (typeof value === 'string') variables[name] = [value];
    else if (Array.isArray(value)) variables[name] = value.filter((v): v is string => typeof v === 'string');
  }
  return { variables, loading };
}

/**
 * Decides whether the page is live (a relative range, a refresh interval, not editing, no failed
 * stream for this range and interval), keeps the stream open with the current variable values
 * and redraws the panels after every round; renders the dashboard with the indicator.
 */
function LiveLayer({
  dashboard,
  live,
  onStreaming,
  children,
}: {
  dashboard: DashboardResource;
  live: boolean;
  onStreaming: (streaming: boolean) => void;
  children: (indicator: ReactNode) => ReactNode;
}) {
  const { timeRange, refreshInterval, refresh: redraw } = useTimeRange();
  const { isEditMode } = useEditMode();
  const { dashboard: current } = useDashboard();
  const stream = live && !isEditMode ? liveWindow(timeRange, refreshInterval) : undefined;
  const windowKey = stream ? `${stream.range}|${stream.refresh}` : undefined;
  // The range and interval whose stream failed: the page polls until one of them changes.
  const [failed, setFailed] = useState<string>();
  const streaming = windowKey !== undefined && failed !== windowKey;
  const [state, setState] = useState<LiveState>();

  useEffect(() => onStreaming(streaming), [streaming, onStreaming]);

  const { variables, loading } = useCurrentVariables(dashboard);
  const url =
    streaming && stream && !loading
      ? liveStreamUrl(dashboard.metadata.project, dashboard.metadata.name, stream.range, stream.refresh, variables)
      : undefined;

  // Read when the stream says hello and after each round, not when they change.
  const latest = useRef({ redraw, current });
  latest.current = { redraw, current };
  const datasourceOf = useCallback((panel: string, index: number): string | undefined => {
    const query = latest.current.current.spec.panels?.[panel]?.spec.queries?.[index];
    const datasource = (query?.spec.plugin.spec as { datasource?: { name?: unknown } } | undefined)?.datasource;
    return typeof datasource?.name === 'string' ? datasource.name : undefined;
  }, []);

  useEffect(() => {
    if (!url || !windowKey) {
      setState(undefined);
      return undefined;
    }
    setState('connecting');
    let close: (() => void) | undefined;
    // A variable typed letter by letter opens one stream, not one per letter.
    const timer = setTimeout(() => {
      close = openLiveStream(url, {
        datasourceOf,
        onState: (next) => {
          setState(next);
          if (next === 'polling') setFailed(windowKey);
        },
        onRound: () => latest.current.redraw(),
      });
    }, 250);
    return () => {
      clearTimeout(timer);
      close?.();
    };
  }, [url, windowKey, datasourceOf]);

  return <>{children(streaming ? <LiveIndicator state={state} refresh={stream?.refresh} /> : null)}</>;
}

// ---------------------------------------------------------------- time-series panels: alerts, comparison

/** The Perses panel plugin that gets the overlays and the comparison. */
const TIME_SERIES_PANEL = 'TimeSeriesChart';

/** What the overlay layer tells each time-series panel. */
interface ChartOverlays {
  /** The rules watching this panel's queries (none in edit mode, on share links, or without rules). */
  alertsFor: (panel: PanelDefinition | undefined) => AlertOverlay[] | undefined;
  /** The step of the answer's intervals (a band lasts one step past its last point). */
  stepMs: number;
}

const ChartOverlaysContext = createContext<ChartOverlays>({ alertsFor: () => undefined, stepMs: 0 });

const NO_OVERLAYS: AlertOverlay[] = [];

/**
 * Fetches the dashboard's alert overlays (on load, on each refresh or live round, and when the range
 * or a variable changes; view mode only) and keeps the page's comparisons; panels read both by
 * their definition, found among the dashboard's panels (the panel editor's preview is "the panel
 * being edited").
 */
function ChartOverlaysLayer({
  dashboard,
  alerts,
  timeShift,
  children,
}: {
  dashboard: DashboardResource;
  alerts: boolean;
  timeShift: boolean;
  children: ReactNode;
}) {
  const { timeRange, refreshKey } = useTimeRange();
  const { isEditMode } = useEditMode();
  const { dashboard: current } = useDashboard();
  const panels = current.spec.panels;
  const { variables, loading } = useCurrentVariables(dashboard);
  // An absolute range is asked as "from its start until now", now being when the range was chosen
  // or last refreshed (`refreshKey`), so that other renders do not ask again.
  const range = useMemo(
    () => (alerts && !isEditMode ? alertsRange(timeRange) : undefined),
    [alerts, isEditMode, timeRange, refreshKey],
  );
  const url = range && !loading ? alertsUrl(dashboard.metadata.project, dashboard.metadata.name, range, variables) : undefined;
  const [answer, setAnswer] = useState<AlertOverlaysAnswer>();

  useEffect(() => {
    if (!url) {
      setAnswer(undefined);
      return undefined;
    }
    const controller = new AbortController();
    // The previous answer stays drawn until this one is there; a failure draws nothing (the rules
    // are an extra: the charts do not depend on them).
    fetchAlertOverlays(url, controller.signal).then(setAnswer, () => {
      if (!controller.signal.aborted) setAnswer(undefined);
    });
    return () => controller.abort();
  }, [url, refreshKey]);

  const overlays = useMemo(() => {
    const byPanel = new Map<PanelDefinition, AlertOverlay[]>();
    for (const overlay of answer?.overlays ?? []) {
      const panel = panels[overlay.panel];
      if (!panel) continue;
      const list = byPanel.get(panel) ?? [];
      list.push(overlay);
      byPanel.set(panel, list);
    }
    return {
      alertsFor: (panel: PanelDefinition | undefined) => (panel ? byPanel.get(panel) : undefined),
      stepMs: answer?.step_ms ?? 0,
    };
  }, [answer, panels]);

  // Comparisons by panel key; "" for a panel that is not (yet) among the dashboard's: the editor's preview.
  const [shifts, setShifts] = useState<Record<string, TimeShift>>({});
  const keyOf = useCallback(
    (panel: PanelDefinition | undefined) => Object.keys(panels).find((key) => panels[key] === panel) ?? '',
    [panels],
  );
  const updateShift = useCallback(
    (key: string, shift: TimeShift | undefined) =>
      setShifts((all) => {
        if (shift ? all[key] === shift : !(key in all)) return all;
        const next = { ...all };
        if (shift) next[key] = shift;
        else delete next[key];
        return next;
      }),
    [],
  );
  // The preview's comparison ends with the panel editor.
  const editorOpen = usePanelEditor() !== undefined;
  useEffect(() => {
    if (!editorOpen) updateShift('', undefined);
  }, [editorOpen, updateShift]);
  // The page's one "Compare with…" menu, for the panel whose button was clicked.
  const [menu, setMenu] = useState<{ key: string; position: { top: number; left: number } }>();
  const control = useMemo<TimeShiftControl>(
    () => ({
      enabled: timeShift,
      shiftOf: (panel) => shifts[keyOf(panel)],
      setShift: (panel, shift) => updateShift(keyOf(panel), shift),
      openMenu: (panel, position) => setMenu({ key: keyOf(panel), position }),
    }),
    [timeShift, shifts, keyOf, updateShift],
  );

  return (
    <ChartOverlaysContext.Provider value={overlays}>
      <TimeShiftContext.Provider value={control}>
        {children}
        {timeShift ? (
          <TimeShiftMenu
            position={menu?.position}
            current={menu ? shifts[menu.key] : undefined}
            onClose={() => setMenu(undefined)}
            onChoose={(shift) => {
              if (menu) updateShift(menu.key, shift);
              setMenu(undefined);
            }}
          />
        ) : null}
      </TimeShiftContext.Provider>
    </ChartOverlaysContext.Provider>
  );
}

function sameItems(a: unknown[], b: unknown[]): boolean {
  return a.length === b.length && a.every((item, i) => item === b[i]);
}

/** "RuleName: firing", colored by state; the rule's details as tooltip. */
function AlertChip({ overlay, colors }: { overlay: AlertOverlay; colors: OverlayColors }) {
  const color = overlay.state === 'firing' ? colors.firing : overlay.state === 'pending' ? colors.pending : undefined;
  const details = [
    `${overlay.rule} (group ${overlay.group}): ${overlay.op} ${overlay.threshold}${overlay.for_seconds > 0 ? ` for ${overlay.for_seconds}s` : ''}`,
    `now ${overlay.state}`,
    overlay.annotations?.summary ?? '',
    overlay.error ? `states not available: ${overlay.error}` : '',
  ].filter(Boolean);
  return (
    <Tooltip title={<Box sx={{ whiteSpace: 'pre-line' }}>{details.join('\n')}</Box>}>
      <Box
        data-testid="alert-chip"
        data-rule={overlay.rule}
        data-state={overlay.state}
        role="status"
        aria-label={`Alert ${overlay.rule}: ${overlay.state}`}
        sx={{
          height: CHIP_HEIGHT,
          display: 'inline-flex',
          alignItems: 'center',
          gap: 0.5,
          px: 1,
          fontSize: 12,
          lineHeight: `${CHIP_HEIGHT}px`,
          whiteSpace: 'nowrap',
          borderRadius: 1,
          cursor: 'default',
          color: (theme) => color ?? theme.palette.text.secondary,
          bgcolor: (theme) => alpha(color ?? theme.palette.text.secondary, 0.1),
          '.MuiSvgIcon-root': { flexShrink: 0 },
        }}
      >
        <Bell fontSize="inherit" />
        <span>
          {overlay.rule}: {overlay.state}
        </span>
      </Box>
    </Tooltip>
  );
}

/**
 * The time-series panel with the alert rules of its queries (threshold lines in the spec, bands and
 * labels in the chart, a chip per rule) and, when compared, its shifted queries' results after its
 * own (dashed). A line of chips above the chart when there is anything to say.
 */
function withChartDecorations(Panel: ComponentType<PanelProps<UnknownSpec>>): ComponentType<PanelProps<UnknownSpec>> {
  function DecoratedPanel(props: PanelProps<UnknownSpec>) {
    const { definition, spec, queryResults, contentDimensions } = props;
    const { alertsFor, stepMs } = useContext(ChartOverlaysContext);
    const shifts = useContext(TimeShiftContext);
    const theme = useTheme();
    const { timeZone } = useTimeZone();
    const { absoluteTimeRange } = useTimeRange();
    const overlays = alertsFor(definition) ?? NO_OVERLAYS;
    const shift = shifts.enabled ? shifts.shiftOf(definition) : undefined;

    // The comparison: the shifted copies run like the panel's queries (same range, variables, refresh).
    const copies = useMemo<QueryDefinition[]>(() => (shift ? shiftedQueries(definition, shift) : []), [definition, shift]);
    const suggestedStepMs = useSuggestedStepMs(contentDimensions?.width);
    const shifted = useTimeSeriesQueries(copies, { suggestedStepMs }, { enabled: copies.length > 0 });
    const shiftedData = shifted.map((result) => result.data);
    const combined = useRef<{ base: PanelProps<UnknownSpec>['queryResults']; data: unknown[]; results: PanelProps<UnknownSpec>['queryResults'] }>();
    if (!combined.current || combined.current.base !== queryResults || !sameItems(combined.current.data, shiftedData)) {
      const extra = copies.flatMap((copy, i) => {
        const data = shiftedData[i];
        return data ? [{ definition: copy, data }] : [];
      });
      combined.current = { base: queryResults, data: shiftedData, results: extra.length > 0 ? [...queryResults, ...extra] : queryResults };
    }
    const results = combined.current.results;
    const shiftError = shift ? shifted.find((result) => result.error)?.error : undefined;

    const colors = useMemo<OverlayColors>(
      () => ({
        firing: theme.palette.error.main,
        pending: theme.palette.warning.main,
        firingBand: alpha(theme.palette.error.main, 0.14),
        pendingBand: alpha(theme.palette.warning.main, 0.14),
      }),
      [theme],
    );

    // The spec as drawn: the rules' lines among the thresholds, the shifted series dashed.
    const extraCount = results.length - queryResults.length;
    const { drawnSpec, linesDrawn } = useMemo(() => {
      if (overlays.length === 0 && extraCount === 0) return { drawnSpec: spec, linesDrawn: false };
      const own = spec as UnknownSpec & { thresholds?: Parameters<typeof withRuleThresholds>[0]; querySettings?: unknown[] };
      const { thresholds, drawn } = withRuleThresholds(own.thresholds, overlays, colors);
      const querySettings = [...(own.querySettings ?? [])];
      for (let i = 0; i < extraCount; i++) querySettings.push({ queryIndex: queryResults.length + i, lineStyle: 'dashed' });
      return { drawnSpec: { ...own, thresholds, querySettings } as UnknownSpec, linesDrawn: drawn };
    }, [spec, overlays, colors, extraCount, queryResults.length]);

    const startMs = absoluteTimeRange.start.getTime();
    const endMs = absoluteTimeRange.end.getTime();
    const series = useMemo(
      () =>
        overlays.length > 0 ? overlaySeries(overlays, colors, { startMs, endMs, stepMs }, timeZone, linesDrawn) : undefined,
      [overlays, colors, startMs, endMs, stepMs, timeZone, linesDrawn],
    );
    const chart = useRef<HTMLDivElement>(null);
    // After every render: Perses may have drawn a new chart (first data, another theme).
    useEffect(() => decorateChart(chart.current, series, true));

    // One chip per rule, in its most pressing state (a rule may watch several of the panel's queries).
    const rules = useMemo(() => {
      const rank: Record<string, number> = { firing: 2, pending: 1 };
      const byRule = new Map<string, AlertOverlay>();
      for (const overlay of overlays) {
        const known = byRule.get(overlay.rule);
        if (!known || (rank[overlay.state] ?? 0) > (rank[known.state] ?? 0)) byRule.set(overlay.rule, overlay);
      }
      return [...byRule.values()];
    }, [overlays]);
    const chips = overlays.length > 0 || shift !== undefined;
    const dimensions =
      chips && contentDimensions
        ? { width: contentDimensions.width, height: Math.max(0, contentDimensions.height - CHIP_HEIGHT - 2) }
        : contentDimensions;
    // The same two children either way, so the chart is not mounted again when the chips come or go.
    return (
      <>
        {chips ? (
          <Box
            data-testid="chart-chips"
            sx={{ height: CHIP_HEIGHT + 2, display: 'flex', alignItems: 'center', gap: 0.5, px: 1, pt: '2px', overflow: 'hidden' }}
          >
            {rules.map((overlay) => (
              <AlertChip key={overlay.rule} overlay={overlay} colors={colors} />
            ))}
            {shift ? (
              <TimeShiftChip
                shift={shift}
                error={shiftError ? (shiftError instanceof Error ? shiftError.message : String(shiftError)) : undefined}
                onClear={() => shifts.setShift(definition, undefined)}
              />
            ) : null}
          </Box>
        ) : null}
        <Box ref={chart}>
          <Panel {...props} spec={drawnSpec} queryResults={results} contentDimensions={dimensions} />
        </Box>
      </>
    );
  }
  DecoratedPanel.displayName = `ChartDecorated(${Panel.displayName ?? Panel.name ?? 'Panel'})`;
  return DecoratedPanel;
}

/**
 * `loader` with the TimeSeriesChart panel decorated (withChartDecorations) and given the
 * "Compare with…" action, and the Prometheus query plugin able to run shifted copies.
 */
function withChartOverlays(loader: PluginLoader): PluginLoader {
  const wrapped = new Map<PluginModuleResource, Promise<unknown>>();
  return {
    getInstalledPlugins: () => loader.getInstalledPlugins(),
    importPluginModule: (resource) => {
      let module = wrapped.get(resource);
      if (!module) {
        module = Promise.resolve()
          .then(() => loader.importPluginModule(resource))
          .then((loaded) => {
            const names = resource.spec.plugins.map((p) => `${p.kind}/${p.spec.name}`);
            const chart = names.includes(`Panel/${TIME_SERIES_PANEL}`);
            const query = names.includes(`TimeSeriesQuery/${SHIFTABLE_QUERY_KIND}`);
            if (!chart && !query) return loaded;
            const copy: Record<string, unknown> = { ...(loaded as Record<string, unknown>) };
            const panel = copy[TIME_SERIES_PANEL] as PanelPlugin | undefined;
            if (chart && panel?.PanelComponent) {
              copy[TIME_SERIES_PANEL] = {
                ...panel,
                PanelComponent: withChartDecorations(panel.PanelComponent),
                actions: [...(panel.actions ?? []), { component: TimeShiftAction, location: 'header' }],
              };
            }
            const prometheus = copy[SHIFTABLE_QUERY_KIND] as TimeSeriesQueryPlugin | undefined;
            if (query && prometheus?.getTimeSeriesData) copy[SHIFTABLE_QUERY_KIND] = withTimeShift(prometheus);
            return copy;
          });
        // A failed import is tried again next time.
        module.catch(() => wrapped.delete(resource));
        wrapped.set(resource, module);
      }
      return module;
    },
  };
}
