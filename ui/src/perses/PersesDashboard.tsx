// All Perses wiring in one place: the provider tree the Perses packages need around
// `ViewDashboard` (view, edit mode, panel editor, variables, datasources, JSON view). An upgrade of
// the @perses-dev packages should only touch this folder. Loaded lazily by the dashboard page, so
// lists and other pages never download the ~1 MB of chart and editor code.
import { useMemo, useState, type ReactNode } from 'react';
import { Box, ThemeProvider } from '@mui/material';
import { QueryClient, QueryClientProvider } from '@tanstack/react-query';
import { QueryParamProvider } from 'use-query-params';
import { ReactRouter6Adapter } from 'use-query-params/adapters/react-router-6';
import type { DashboardResource } from '@perses-dev/core';
import { ChartsProvider, SnackbarProvider, TimeZoneProvider, generateChartsTheme, getTheme } from '@perses-dev/components';
import {
  PluginRegistry,
  ReactRouterProvider,
  TimeRangeSettingsProvider,
  ValidationProvider,
} from '@perses-dev/plugin-system';
import { ViewDashboard, type DatasourceApi } from '@perses-dev/dashboards';
import { useColorMode } from '../theme/colorMode';
import { CurrentViewBridge, type CurrentView } from './currentView';
import { datasourceApiFor } from './datasourceApi';
import { installSessionFetch } from './sessionFetch';
import { defaultPluginKinds, pluginLoader } from './plugins';
import { TIME_RANGE_OPTIONS } from './timeRanges';

installSessionFetch();

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
}: PersesDashboardProps) {
  const { mode } = useColorMode();
  const muiTheme = useMemo(() => getTheme(mode), [mode]);
  const chartsTheme = useMemo(() => generateChartsTheme(muiTheme, {}), [muiTheme]);
  const project = dashboard.metadata.project;
  const datasourceApi = useMemo(() => givenDatasourceApi ?? datasourceApiFor(project), [givenDatasourceApi, project]);
  // One cache per mounted dashboard: a remount (after "load the latest version") starts clean.
  const [queryClient] = useState(
    () => new QueryClient({ defaultOptions: { queries: { refetchOnWindowFocus: false, retry: 0 } } }),
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
                    <PluginRegistry pluginLoader={pluginLoader} defaultPluginKinds={defaultPluginKinds}>
                      <ValidationProvider>
                        <ViewDashboard
                          dashboardResource={dashboard}
                          datasourceApi={datasourceApi}
                          isReadonly={readOnly}
                          isEditing={startEditing && !readOnly}
                          isVariableEnabled={!readOnly}
                          isDatasourceEnabled={!readOnly}
                          isLeavingConfirmDialogEnabled={!readOnly}
                          dashboardTitleComponent={
                            <Box
                              className={readOnly ? 'pharos-readonly-title' : undefined}
                              sx={{ display: 'flex', alignItems: 'center', gap: 1, minWidth: 0, flexGrow: readOnly ? 1 : 0 }}
                            >
                              {title}
                              {actions ? <CurrentViewBridge dashboard={dashboard} render={actions} /> : null}
                            </Box>
                          }
                          sx={readOnly ? readOnlySx : undefined}
                          // Only Dashboard resources are opened here, never ephemeral ones.
                          onSave={onSave && !readOnly ? (saved) => onSave(saved as DashboardResource) : undefined}
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
