// Static plugin registration: every Perses plugin package is bundled and handed to the registry
// as-is (no module federation, no plugin server). Adding a panel type means adding a line here.
import * as barChart from '@perses-dev/bar-chart-plugin';
import * as gaugeChart from '@perses-dev/gauge-chart-plugin';
import * as heatMapChart from '@perses-dev/heatmap-chart-plugin';
import * as markdown from '@perses-dev/markdown-plugin';
import { getPluginModule as pieChartModule } from '@perses-dev/pie-chart-plugin';
// The 0.9 package's index leaves out the plugin object itself (Perses loads it through module
// federation as `./PieChart`), so it is taken from its module.
import { PieChart } from '@perses-dev/pie-chart-plugin/lib/PieChart';
import * as prometheus from '@perses-dev/prometheus-plugin';
import * as statChart from '@perses-dev/stat-chart-plugin';
import * as table from '@perses-dev/table-plugin';
import * as timeSeriesChart from '@perses-dev/timeseries-chart-plugin';
import { dynamicImportPluginLoader, type DefaultPluginKinds, type PluginModuleResource } from '@perses-dev/plugin-system';

/** What each plugin package exports: its resource description plus the plugins by name. */
interface PluginPackage {
  getPluginModule: () => PluginModuleResource;
}

// The Prometheus package carries the static list variable without listing it in its module
// resource; the shared view (sharedDashboard.ts) fixes variables with it, so it is listed here.
const staticListVariable = {
  getPluginModule: (): PluginModuleResource => ({
    kind: 'PluginModule',
    metadata: { name: 'pharos-static-list-variable', version: '0.52.0' },
    spec: { plugins: [{ kind: 'Variable', spec: { name: 'StaticListVariable', display: { name: 'Static List Variable' } } }] },
  }),
  StaticListVariable: prometheus.StaticListVariable,
};

const pieChart = { getPluginModule: pieChartModule, PieChart };

const PACKAGES: PluginPackage[] = [
  prometheus,
  timeSeriesChart,
  statChart,
  gaugeChart,
  barChart,
  table,
  markdown,
  pieChart,
  heatMapChart,
  staticListVariable,
];

/** The loader given to `PluginRegistry`; the package namespace maps plugin names to plugins. */
export const pluginLoader = dynamicImportPluginLoader(
  PACKAGES.map((pkg) => ({ resource: pkg.getPluginModule(), importPlugin: () => Promise.resolve(pkg) })),
);

/** What a new query or panel starts as in the editor. */
export const defaultPluginKinds: DefaultPluginKinds = {
  TimeSeriesQuery: 'PrometheusTimeSeriesQuery',
};
