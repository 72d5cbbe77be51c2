// "Add to dashboard": the Explore query as a Perses time-series panel, appended below the last
// panel of a dashboard's last grid (or as the first panel of a new dashboard). The chart spec is
// the one Explore draws, so the panel looks on the dashboard as it did here.
import type { DashboardResource, GridItemDefinition, LayoutDefinition, PanelDefinition } from '@perses-dev/core';
import { PROMETHEUS_KIND } from './datasources';

/** The time-series chart options Explore draws with (a legend with each series' last value). */
export const EXPLORE_CHART_SPEC = { legend: { position: 'bottom', mode: 'table', values: ['last-number'] } } as const;

/** The Perses query definition of a PromQL query on a named Prometheus datasource. */
export function prometheusQuery(query: string, datasource: string) {
  return {
    kind: 'TimeSeriesQuery',
    spec: {
      plugin: {
        kind: 'PrometheusTimeSeriesQuery',
        spec: { query, datasource: { kind: PROMETHEUS_KIND, name: datasource } },
      },
    },
  };
}

/** A time-series panel of one query. */
export function explorePanel(title: string, query: string, datasource: string): PanelDefinition {
  return {
    kind: 'Panel',
    spec: {
      display: { name: title },
      plugin: { kind: 'TimeSeriesChart', spec: structuredClone(EXPLORE_CHART_SPEC) as unknown as Record<string, unknown> },
      queries: [prometheusQuery(query, datasource)],
    },
  };
}

/** A panel title from a query: the query itself, shortened. */
export function titleFor(query: string): string {
  const oneLine = query.replace(/\s+/g, ' ').trim();
  return oneLine.length > 60 ? `${oneLine.slice(0, 57)}…` : oneLine;
}

const PANEL_WIDTH = 12;
const PANEL_HEIGHT = 10;

/** A panel key not used in `panels` yet: explore, explore-2, explore-3, … */
export function freePanelKey(panels: Record<string, unknown>): string {
  if (!('explore' in panels)) return 'explore';
  for (let i = 2; ; i++) if (!(`explore-${i}` in panels)) return `explore-${i}`;
}


/** `dashboard` with `panel` added at the bottom of its last grid (a new grid when it has none). */
export function appendPanel(dashboard: DashboardResource, panel: PanelDefinition): { dashboard: DashboardResource; key: string } {
  const panels = { ...(dashboard.spec.panels ?? {}) };
  const key = freePanelKey(panels);
  panels[key] = panel;
  const layouts = [...(dashboard.spec.layouts ?? [])];
  // Dashboards stored by newer Perses versions can hold other layout kinds (Tabs): only grids count.
  const index = layouts.map((l) => (l as { kind: string }).kind).lastIndexOf('Grid');
  const item: GridItemDefinition = { x: 0, y: 0, width: PANEL_WIDTH, height: PANEL_HEIGHT, content: { $ref: `#/spec/panels/${key}` } };
  if (index >= 0) {
    const grid = layouts[index] as LayoutDefinition;
    const items = grid.spec.items ?? [];
    item.y = items.reduce((bottom, i) => Math.max(bottom, i.y + i.height), 0);
    layouts[index] = { ...grid, spec: { ...grid.spec, items: [...items, item] } };
  } else {
    layouts.push({ kind: 'Grid', spec: { items: [item] } });
  }
  return { dashboard: { ...dashboard, spec: { ...dashboard.spec, panels, layouts } }, key };
}

/** A new dashboard holding only `panel`, showing the last hour. */
export function dashboardWith(project: string, name: string, title: string, panel: PanelDefinition): DashboardResource {
  const { dashboard } = appendPanel(
    {
      kind: 'Dashboard',
      metadata: { name, project },
      spec: { display: { name: title }, duration: '1h', variables: [], panels: {}, layouts: [] },
    } as unknown as DashboardResource,
    panel,
  );
  return dashboard;
}

/** A dashboard name (the resource's identifier) derived from a title: `GPU usage` → `gpu-usage`. */
export function nameFromTitle(title: string): string {
  return title
    .trim()
    .toLowerCase()
    .replace(/[^a-z0-9_.-]+/g, '-')
    .replace(/\.{2,}/g, '.')
    .replace(/^[-.]+|[-.]+$/g, '')
    .slice(0, 75);
}
