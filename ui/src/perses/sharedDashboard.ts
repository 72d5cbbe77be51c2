// A dashboard opened through a share link (docs/user/authentication.md, "Share links"): the
// server runs only the dashboard's own queries with the shared variable values, through
// `/proxy/shared/{token}`. So every variable is fixed to the shared values (a list becomes a
// static list of exactly those values, no options are fetched), every datasource is a
// Prometheus datasource whose proxy is that path, and nothing is looked up in the API (the viewer
// has no login).
import type {
  DashboardResource,
  DatasourceSelector,
  DatasourceSpec,
  GlobalDatasourceResource,
  VariableDefinition,
} from '@perses-dev/core';
import type { DatasourceApi } from '@perses-dev/dashboards';
import type { SharedTimeRange, SharedVariables } from '../api/account';

/** Where the panel queries of a shared dashboard go. */
export function sharedProxyPath(token: string): string {
  return `/proxy/shared/${encodeURIComponent(token)}`;
}

function sharedDatasourceSpec(token: string): DatasourceSpec {
  return {
    default: true,
    plugin: {
      kind: 'PrometheusDatasource',
      spec: { proxy: { kind: 'HTTPProxy', spec: { url: sharedProxyPath(token) } } },
    },
  };
}

/** Every datasource, whatever its name, is the link's proxy. */
export function sharedDatasourceApi(token: string): DatasourceApi {
  const global = (selector: DatasourceSelector): GlobalDatasourceResource => ({
    kind: 'GlobalDatasource',
    metadata: { name: selector.name ?? 'shared' },
    spec: sharedDatasourceSpec(token),
  });
  return {
    buildProxyUrl: () => sharedProxyPath(token),
    getDatasource: async () => undefined,
    getGlobalDatasource: async (selector) => global(selector),
    listDatasources: async () => [],
    listGlobalDatasources: async () => [global({ kind: 'PrometheusDatasource' })],
  };
}

function fixedVariable(variable: VariableDefinition, shared: string | string[] | undefined): VariableDefinition {
  if (variable.kind === 'TextVariable') {
    const value = typeof shared === 'string' ? shared : Array.isArray(shared) ? shared.join(',') : variable.spec.value;
    return { kind: 'TextVariable', spec: { ...variable.spec, value, constant: true } };
  }
  const value = shared ?? variable.spec.defaultValue ?? null;
  const values = value === null ? [] : Array.isArray(value) ? value : [value];
  return {
    kind: 'ListVariable',
    spec: {
      name: variable.spec.name,
      display: variable.spec.display,
      defaultValue: value,
      allowMultiple: Array.isArray(value),
      allowAllValue: false,
      plugin: { kind: 'StaticListVariable', spec: { values } },
    },
  };
}

/** The dashboard as the shared view shows it: variables fixed, datasources through the link. */
export function sharedDashboard(
  dashboard: DashboardResource,
  token: string,
  variables: SharedVariables | null,
  timeRange: SharedTimeRange | null,
): DashboardResource {
  const spec = { ...dashboard.spec };
  spec.variables = (spec.variables ?? []).map((v) => fixedVariable(v, variables?.[v.spec.name]));
  if (spec.datasources) {
    spec.datasources = Object.fromEntries(Object.keys(spec.datasources).map((name) => [name, sharedDatasourceSpec(token)]));
  }
  if (timeRange && 'pastDuration' in timeRange) spec.duration = timeRange.pastDuration as typeof spec.duration;
  return { ...dashboard, spec };
}

/** The address parameters of an absolute shared time range (`start`/`end` in ms), if it is one. */
export function absoluteRangeParams(timeRange: SharedTimeRange | null): { start: string; end: string } | undefined {
  if (!timeRange || !('start' in timeRange)) return undefined;
  const start = Date.parse(timeRange.start);
  const end = Date.parse(timeRange.end);
  if (Number.isNaN(start) || Number.isNaN(end)) return undefined;
  return { start: String(start), end: String(end) };
}
