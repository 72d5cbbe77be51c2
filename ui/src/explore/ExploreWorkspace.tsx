// The Perses side of the Explore page: the providers a Perses panel needs (the same as around a
// dashboard: plugins, datasources through the Pharos proxy, time range in the address, charts
// theme), the PromQL editor of @perses-dev/prometheus-plugin with completion from the chosen
// datasource, the time range controls, and the result as a Perses TimeSeriesChart panel (graph,
// a range query) or a table of labels and values (an instant query at the end of the range).
// A failed query shows the server's message under the editor.
import { useMemo, useState, type ReactNode } from 'react';
import Alert from '@mui/material/Alert';
import Box from '@mui/material/Box';
import Button from '@mui/material/Button';
import LinearProgress from '@mui/material/LinearProgress';
import Stack from '@mui/material/Stack';
import Tab from '@mui/material/Tab';
import Table from '@mui/material/Table';
import TableBody from '@mui/material/TableBody';
import TableCell from '@mui/material/TableCell';
import TableContainer from '@mui/material/TableContainer';
import TableHead from '@mui/material/TableHead';
import TableRow from '@mui/material/TableRow';
import Tabs from '@mui/material/Tabs';
import Typography from '@mui/material/Typography';
import { ThemeProvider } from '@mui/material';
import { Play as PlayIcon } from 'mdi-material-ui';
import { QueryClient, QueryClientProvider } from '@tanstack/react-query';
import { QueryParamProvider } from 'use-query-params';
import { ReactRouter6Adapter } from 'use-query-params/adapters/react-router-6';
import useResizeObserver from 'use-resize-observer';
import { DEFAULT_REFRESH_INTERVAL, type DurationString, type PanelDefinition, type TimeSeries } from '@perses-dev/core';
import {
  ChartsProvider,
  SnackbarProvider,
  TimeZoneProvider,
  formatWithTimeZone,
  generateChartsTheme,
  getTheme,
  useTimeZone,
} from '@perses-dev/components';
import {
  DataQueriesProvider,
  PluginRegistry,
  ReactRouterProvider,
  TimeRangeControls,
  TimeRangeProviderWithQueryParams,
  TimeRangeSettingsProvider,
  useDataQueries,
  useDatasourceClient,
  useInitialRefreshInterval,
  useInitialTimeRange,
  useSuggestedStepMs,
  useTimeRange,
} from '@perses-dev/plugin-system';
import { DatasourceStoreProvider, Panel, VariableProvider } from '@perses-dev/dashboards';
import { PromQLEditor, type PrometheusClient } from '@perses-dev/prometheus-plugin';
import { useColorMode } from '../theme/colorMode';
import { defaultPluginKinds, pluginLoader } from '../perses/plugins';
import { installSessionFetch } from '../perses/sessionFetch';
import { TIME_RANGE_OPTIONS } from '../perses/timeRanges';
import { EXPLORE_CHART_SPEC, prometheusQuery } from './dashboardPanel';
import { PROMETHEUS_KIND, exploreDatasourceApi } from './datasources';
import type { ExploreView } from './state';

installSessionFetch();

const GRAPH_HEIGHT = 460;
/** Rows a table shows; a query answering more is asked to be narrowed. */
const TABLE_ROWS = 1000;

export interface ExploreWorkspaceProps {
  project?: string;
  /** The chosen datasource's name; without one nothing runs. */
  datasource?: string;
  /** The query that runs (from the address). */
  query: string;
  onQueryChange: (query: string) => void;
  /** What the editor holds; Run (or Shift+Enter) makes it the query. */
  draft: string;
  onDraftChange: (draft: string) => void;
  view: ExploreView;
  onViewChange: (view: ExploreView) => void;
  /** The project and datasource pickers, shown left of the time range controls. */
  pickers: ReactNode;
  /** Shown right of the Graph/Table tabs ("Add to dashboard"). */
  actions: ReactNode;
  /** A duration such as `1h`: the range of a page opened without one in its address. */
  defaultRange: DurationString;
  /** An IANA time zone or `UTC`; the browser's when undefined. */
  timeZone?: string;
}

/** The Explore workspace with its Perses providers; remount it (`key`) for another project. */
export default function ExploreWorkspace(props: ExploreWorkspaceProps) {
  const { mode } = useColorMode();
  const muiTheme = useMemo(() => getTheme(mode), [mode]);
  const chartsTheme = useMemo(() => generateChartsTheme(muiTheme, {}), [muiTheme]);
  const datasourceApi = useMemo(() => exploreDatasourceApi(props.project), [props.project]);
  const [queryClient] = useState(
    () => new QueryClient({ defaultOptions: { queries: { refetchOnWindowFocus: false, retry: 0 } } }),
  );
  return (
    <QueryParamProvider adapter={ReactRouter6Adapter}>
      <ReactRouterProvider>
        <QueryClientProvider client={queryClient}>
          <ThemeProvider theme={muiTheme}>
            <ChartsProvider chartsTheme={chartsTheme} enablePinning={false}>
              <SnackbarProvider anchorOrigin={{ vertical: 'bottom', horizontal: 'right' }} preventDuplicate>
                <TimeZoneProvider timeZone={props.timeZone}>
                  <TimeRangeSettingsProvider showCustom options={TIME_RANGE_OPTIONS}>
                    <PluginRegistry pluginLoader={pluginLoader} defaultPluginKinds={defaultPluginKinds}>
                      <DatasourceStoreProvider datasourceApi={datasourceApi} projectName={props.project}>
                        <TimeRangeFromAddress defaultRange={props.defaultRange}>
                          <VariableProvider>
                            <Workspace {...props} />
                          </VariableProvider>
                        </TimeRangeFromAddress>
                      </DatasourceStoreProvider>
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

/** The time range and refresh interval of the address (`start`, `end`, `refresh`), as on dashboards. */
function TimeRangeFromAddress({ defaultRange, children }: { defaultRange: DurationString; children: ReactNode }) {
  const initialTimeRange = useInitialTimeRange(defaultRange);
  const initialRefreshInterval = useInitialRefreshInterval(DEFAULT_REFRESH_INTERVAL);
  return (
    <TimeRangeProviderWithQueryParams initialTimeRange={initialTimeRange} initialRefreshInterval={initialRefreshInterval}>
      {children}
    </TimeRangeProviderWithQueryParams>
  );
}

function Workspace({
  datasource,
  query,
  onQueryChange,
  draft,
  onDraftChange,
  view,
  onViewChange,
  pickers,
  actions,
}: ExploreWorkspaceProps) {
  const { refresh } = useTimeRange();
  const { width, ref } = useResizeObserver<HTMLDivElement>();
  const suggestedStepMs = useSuggestedStepMs(width);
  const definitions = useMemo(
    () => (query !== '' && datasource !== undefined ? [prometheusQuery(query, datasource).spec.plugin] : []),
    [query, datasource],
  );
  const options = useMemo(() => ({ suggestedStepMs, mode: view === 'table' ? 'instant' : 'range' }), [suggestedStepMs, view]);
  // Run: a changed query goes to the address (and runs from there); the same query runs again
  // with "now" moved on.
  const run = () => {
    const next = draft.trim();
    if (next === query) refresh();
    else onQueryChange(next);
  };

  return (
    <Stack spacing={1.5} sx={{ minWidth: 0 }}>
      <Stack direction="row" spacing={1} alignItems="center" flexWrap="wrap" useFlexGap>
        {pickers}
        <Box sx={{ flexGrow: 1 }} />
        <TimeRangeControls />
      </Stack>
      {datasource === undefined ? null : (
        <QueryEditor datasource={datasource} value={draft} onChange={onDraftChange} onRun={run} />
      )}
      <DataQueriesProvider definitions={definitions} options={options}>
        <QueryStatus />
        <Stack direction="row" alignItems="center" spacing={1} sx={{ borderBottom: 1, borderColor: 'divider' }}>
          <Tabs value={view} onChange={(_, next: ExploreView) => onViewChange(next)} aria-label="Result view">
            <Tab value="graph" label="Graph" data-testid="view-graph" />
            <Tab value="table" label="Table" data-testid="view-table" />
          </Tabs>
          <Box sx={{ flexGrow: 1 }} />
          {actions}
        </Stack>
        <Box ref={ref} sx={{ minWidth: 0 }}>
          {query === '' ? (
            <Typography color="text.secondary" sx={{ py: 4, textAlign: 'center' }} data-testid="explore-empty">
              Type a PromQL query above and press Shift+Enter or Run.
            </Typography>
          ) : view === 'graph' ? (
            <Graph query={query} datasource={datasource} />
          ) : (
            <ResultTable />
          )}
        </Box>
      </DataQueriesProvider>
    </Stack>
  );
}

/** The PromQL editor of the Prometheus plugin, completing from the datasource; Shift+Enter runs. */
function QueryEditor({
  datasource,
  value,
  onChange,
  onRun,
}: {
  datasource: string;
  value: string;
  onChange: (value: string) => void;
  onRun: () => void;
}) {
  const selector = useMemo(() => ({ kind: PROMETHEUS_KIND, name: datasource }), [datasource]);
  const { data: client } = useDatasourceClient<PrometheusClient>(selector);
  const url = client?.options.datasourceUrl;
  // Metric names, labels and their values come from the datasource through the Pharos proxy (the
  // session's cookies go along). Until the datasource is resolved, only PromQL itself completes.
  const completeConfig = useMemo(() => (url ? { remote: { url } } : {}), [url]);
  return (
    <Stack direction="row" spacing={1} alignItems="flex-start">
      <Box
        sx={{ flex: 1, minWidth: 0, pt: 1 }}
        data-testid="explore-editor"
        // Before CodeMirror sees the key: Enter alone stays a new line or picks a completion.
        onKeyDownCapture={(event) => {
          if (event.key === 'Enter' && (event.shiftKey || event.ctrlKey || event.metaKey)) {
            event.preventDefault();
            event.stopPropagation();
            onRun();
          }
        }}
      >
        <PromQLEditor completeConfig={completeConfig} datasource={selector} value={value} onChange={onChange} />
      </Box>
      <Button
        variant="contained"
        startIcon={<PlayIcon />}
        onClick={onRun}
        sx={{ mt: 1, flexShrink: 0 }}
        data-testid="explore-run"
        title="Run the query (Shift+Enter)"
      >
        Run
      </Button>
    </Stack>
  );
}

/** The text of a failed query: the server's message when it sent one. */
function errorText(error: unknown): string {
  if (error instanceof Error) return error.message;
  return typeof error === 'string' ? error : JSON.stringify(error);
}

/** Under the editor: a progress bar while the query runs, the server's message when it failed. */
function QueryStatus() {
  const { queryResults, isFetching } = useDataQueries('TimeSeriesQuery');
  const result = queryResults[0];
  const error = result?.error;
  const notices = result?.data?.metadata?.notices ?? [];
  return (
    <Box>
      <Box sx={{ height: 4 }}>{isFetching ? <LinearProgress aria-label="Running the query" /> : null}</Box>
      {error ? (
        <Alert severity="error" role="alert" data-testid="explore-error" sx={{ whiteSpace: 'pre-wrap', wordBreak: 'break-word' }}>
          {errorText(error)}
        </Alert>
      ) : null}
      {notices.map((notice, i) => (
        <Alert key={i} severity={notice.type === 'error' ? 'error' : notice.type === 'info' ? 'info' : 'warning'} sx={{ mt: 0.5 }}>
          {notice.message}
        </Alert>
      ))}
    </Box>
  );
}

/** The range query as a Perses TimeSeriesChart panel (same tooltip, units and zoom as dashboards). */
function Graph({ query, datasource }: { query: string; datasource?: string }) {
  const { queryResults } = useDataQueries('TimeSeriesQuery');
  const failed = Boolean(queryResults[0]?.error);
  const definition = useMemo<PanelDefinition>(
    () => ({
      kind: 'Panel',
      spec: {
        display: { name: query },
        plugin: { kind: 'TimeSeriesChart', spec: structuredClone(EXPLORE_CHART_SPEC) as unknown as Record<string, unknown> },
        queries: datasource === undefined ? [] : [prometheusQuery(query, datasource)],
      },
    }),
    [query, datasource],
  );
  // The error is shown under the editor; the panel would only repeat it.
  if (failed) return null;
  return (
    <Box sx={{ height: GRAPH_HEIGHT, pt: 1 }} data-testid="explore-graph">
      <Panel definition={definition} panelOptions={{ hideHeader: true }} sx={{ height: '100%' }} />
    </Box>
  );
}

function formatValue(value: number | null | undefined): string {
  if (value === null || value === undefined) return '—';
  return Number.isInteger(value) ? String(value) : String(Number(value.toPrecision(12)));
}

/** The instant query's series: one column per label (the metric name first), then the value. */
function ResultTable() {
  const { queryResults } = useDataQueries('TimeSeriesQuery');
  const result = queryResults[0];
  const series: TimeSeries[] = result?.data?.series ?? [];
  const at = result?.data?.timeRange?.end;
  const labelNames = useMemo(() => {
    const names = new Set<string>();
    for (const s of series) for (const name of Object.keys(s.labels ?? {})) names.add(name);
    const sorted = [...names].filter((n) => n !== '__name__').sort();
    return names.has('__name__') ? ['__name__', ...sorted] : sorted;
  }, [series]);
  const { timeZone } = useTimeZone();
  const shownAt = at ? formatWithTimeZone(new Date(at), 'yyyy-MM-dd HH:mm:ss', timeZone) : undefined;
  if (!result || result.error || result.isLoading) return null;
  if (series.length === 0) {
    return (
      <Typography color="text.secondary" sx={{ py: 4, textAlign: 'center' }} data-testid="explore-table-empty">
        The query returned no series{shownAt ? ` at ${shownAt}` : ''}.
      </Typography>
    );
  }
  return (
    <Box sx={{ pt: 1 }}>
      <Typography variant="body2" color="text.secondary" sx={{ mb: 1 }}>
        {series.length} series{shownAt ? `, instant query at ${shownAt} (the end of the time range)` : ''}
        {series.length > TABLE_ROWS ? `; the first ${TABLE_ROWS} are shown` : ''}
      </Typography>
      <TableContainer sx={{ maxHeight: 560, border: 1, borderColor: 'divider', borderRadius: 1 }}>
        <Table size="small" stickyHeader aria-label="Query result" data-testid="explore-table">
          <TableHead>
            <TableRow>
              {labelNames.map((name) => (
                <TableCell key={name} sx={{ fontWeight: 700 }}>
                  {name === '__name__' ? 'metric' : name}
                </TableCell>
              ))}
              <TableCell align="right" sx={{ fontWeight: 700 }}>
                Value
              </TableCell>
            </TableRow>
          </TableHead>
          <TableBody>
            {series.slice(0, TABLE_ROWS).map((s, i) => (
              <TableRow key={i} hover data-testid="explore-row">
                {labelNames.map((name) => (
                  <TableCell key={name} sx={{ fontFamily: 'monospace', fontSize: '0.8rem' }}>
                    {s.labels?.[name] ?? ''}
                  </TableCell>
                ))}
                <TableCell align="right" sx={{ fontFamily: 'monospace', fontSize: '0.8rem' }}>
                  {formatValue(s.values[s.values.length - 1]?.[1])}
                </TableCell>
              </TableRow>
            ))}
          </TableBody>
        </Table>
      </TableContainer>
    </Box>
  );
}
