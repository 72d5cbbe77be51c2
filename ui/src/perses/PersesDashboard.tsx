// All Perses wiring in one place: the provider tree the Perses packages need around
// `ViewDashboard` (view, edit mode, panel editor, variables, datasources, JSON view). An upgrade of
// the @perses-dev packages should only touch this folder. Loaded lazily by the dashboard page, so
// lists and other pages never download the ~1 MB of chart and editor code.
import { useMemo, useState, type ReactNode } from 'react';
import { ThemeProvider } from '@mui/material';
import { QueryClient, QueryClientProvider } from '@tanstack/react-query';
import { QueryParamProvider } from 'use-query-params';
import { ReactRouter6Adapter } from 'use-query-params/adapters/react-router-6';
import type { DashboardResource } from '@perses-dev/core';
import { ChartsProvider, SnackbarProvider, generateChartsTheme, getTheme } from '@perses-dev/components';
import {
  PluginRegistry,
  ReactRouterProvider,
  TimeRangeSettingsProvider,
  ValidationProvider,
} from '@perses-dev/plugin-system';
import { ViewDashboard } from '@perses-dev/dashboards';
import { useColorMode } from '../theme/colorMode';
import { datasourceApiFor } from './datasourceApi';
import { installSessionFetch } from './sessionFetch';
import { defaultPluginKinds, pluginLoader } from './plugins';
import { TIME_RANGE_OPTIONS } from './timeRanges';

installSessionFetch();

export interface PersesDashboardProps {
  /** The dashboard as loaded; later changes of this prop are ignored (remount with a `key`). */
  dashboard: DashboardResource;
  /** Open in edit mode (a dashboard that was just created). */
  startEditing: boolean;
  /** Stores the dashboard; rejecting keeps Perses in edit mode with the user's changes. */
  onSave: (dashboard: DashboardResource) => Promise<unknown>;
  /** Shown in place of the dashboard name in the toolbar. */
  title: ReactNode;
}

/** The Perses dashboard view and editor for one dashboard. */
export default function PersesDashboard({ dashboard, startEditing, onSave, title }: PersesDashboardProps) {
  const { mode } = useColorMode();
  const muiTheme = useMemo(() => getTheme(mode), [mode]);
  const chartsTheme = useMemo(() => generateChartsTheme(muiTheme, {}), [muiTheme]);
  const project = dashboard.metadata.project;
  const datasourceApi = useMemo(() => datasourceApiFor(project), [project]);
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
                <TimeRangeSettingsProvider showCustom options={TIME_RANGE_OPTIONS}>
                  <PluginRegistry pluginLoader={pluginLoader} defaultPluginKinds={defaultPluginKinds}>
                    <ValidationProvider>
                      <ViewDashboard
                        dashboardResource={dashboard}
                        datasourceApi={datasourceApi}
                        isReadonly={false}
                        isEditing={startEditing}
                        isVariableEnabled
                        isDatasourceEnabled
                        isLeavingConfirmDialogEnabled
                        dashboardTitleComponent={title}
                        // Only Dashboard resources are opened here, never ephemeral ones.
                        onSave={(saved) => onSave(saved as DashboardResource)}
                      />
                    </ValidationProvider>
                  </PluginRegistry>
                </TimeRangeSettingsProvider>
              </SnackbarProvider>
            </ChartsProvider>
          </ThemeProvider>
        </QueryClientProvider>
      </ReactRouterProvider>
    </QueryParamProvider>
  );
}
