// All Perses wiring in one place: the provider tree the Perses packages need around the dashboard
// (view, edit mode, panel editor, variables, datasources, JSON view). An upgrade of the @perses-dev
// packages should only touch this folder. Loaded lazily by the dashboard page, so lists and other
// pages never download the ~1 MB of chart and editor code.
//
// `DashboardView` is Perses' `ViewDashboard` with one provider of its own: the time range provider
// can stop Perses' polling while the server pushes the data (live mode, liveStream.ts) and the
// refresh picker still shows the chosen interval. Panel plugins get a stale marker
// (components/PanelNotices.tsx).
import { useCallback, useEffect, useMemo, useRef, useState, type ReactNode } from 'react';
import { Box, ThemeProvider, type SxProps, type Theme } from '@mui/material';
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
  type TimeRangeValue,
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
  useTimeRangeParams,
  useVariableValues,
} from '@perses-dev/plugin-system';
import {
  DashboardProvider,
  DatasourceStoreProvider,
  VariableProviderWithQueryParams,
  useDashboard,
  useEditMode,
  type DatasourceApi,
} from '@perses-dev/dashboards';
// What ViewDashboard renders inside its providers (toolbar, grid, dialogs); not in the package index.
import { DashboardApp } from '@perses-dev/dashboards/dist/views/ViewDashboard/DashboardApp';
import { useColorMode } from '../theme/colorMode';
import { LiveIndicator } from '../components/LiveIndicator';
import { withPanelNotices } from '../components/PanelNotices';
import { CurrentViewBridge, type CurrentView } from './currentView';
import { datasourceApiFor } from './datasourceApi';
import { liveStreamUrl, openLiveStream, type LiveState } from './liveStream';
import { installSessionFetch } from './sessionFetch';
import { defaultPluginKinds, pluginLoader } from './plugins';
import { TIME_RANGE_OPTIONS } from './timeRanges';

installSessionFetch();

// Every panel plugin with the stale marker.
const markedPluginLoader = withPanelNotices(pluginLoader);

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
            <ChartsProvider chartsTheme={chartsTheme}>
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
function DashboardView({ dashboard, datasourceApi, readOnly, isEditing, live, title, titleClassName, sx, onSave }: DashboardViewProps) {
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

  // The variables' current values, an "All" already expanded as the queries get it.
  const names = useMemo(() => (dashboard.spec.variables ?? []).map((v) => v.spec.name), [dashboard]);
  const values = useVariableValues(names);
  const loading = names.some((name) => values[name]?.loading);
  const variables: Record<string, string[]> = {};
  for (const name of names) {
    const value = values[name]?.value;
    if (typeof value === 'string') variables[name] = [value];
    else if (Array.isArray(value)) variables[name] = value.filter((v): v is string => typeof v === 'string');
  }
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
