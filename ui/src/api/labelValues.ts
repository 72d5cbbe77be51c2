// Suggestions for a template's variables: the values of the label its
// PrometheusLabelValuesVariable reads, asked from the project's default Prometheus datasource
// through the Pharos proxy (so a project with namespaces only sees its own), with the values
// chosen so far filled into the matchers (cluster → namespace → workload).
import type { DashboardResource } from '@perses-dev/core';
import { proxyUrlFor } from '../perses/datasourceApi';
import { request } from './http';
import { listDatasources, listGlobalDatasources } from './resources';

const PROMETHEUS = 'PrometheusDatasource';

/** Where a variable's values come from (undefined for variables of other kinds). */
export interface LabelValuesSource {
  labelName: string;
  matchers: string[];
}

/** The label-values lookup of each variable of `dashboard`, by variable name. */
export function labelValuesSources(dashboard: DashboardResource): Record<string, LabelValuesSource> {
  const sources: Record<string, LabelValuesSource> = {};
  for (const variable of dashboard.spec.variables ?? []) {
    if (variable.kind !== 'ListVariable') continue;
    const plugin = variable.spec.plugin as { kind?: string; spec?: { labelName?: unknown; matchers?: unknown } } | undefined;
    if (plugin?.kind !== 'PrometheusLabelValuesVariable' || typeof plugin.spec?.labelName !== 'string') continue;
    const matchers = Array.isArray(plugin.spec.matchers) ? plugin.spec.matchers.filter((m): m is string => typeof m === 'string') : [];
    sources[variable.spec.name] = { labelName: plugin.spec.labelName, matchers };
  }
  return sources;
}

const escapeRegex = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
const escapeString = (text: string) => text.replace(/\\/g, '\\\\').replace(/"/g, '\\"');

/** The names of the variables a matcher uses (`$name` or `${name}`). */
export function variablesUsed(matcher: string): string[] {
  return [...matcher.matchAll(/\$\{?(\w+)\}?/g)].map((m) => m[1]).filter((name) => !name.startsWith('__'));
}

/**
 * `matcher` with the given values in place of its variables. A label matched against a variable
 * without a value (or "All") matches anything (`label=~".*"`); a value is matched exactly, also
 * where the template matches with a regex.
 */
export function fillMatcher(matcher: string, values: Record<string, string>): string {
  const valueOf = (name: string) => {
    const value = values[name]?.trim() ?? '';
    return value === '' || value === '$__all' ? undefined : value;
  };
  const labelMatchers = matcher.replace(
    /([A-Za-z_][A-Za-z0-9_]*)\s*(=~|!~|!=|=)\s*"\$\{?(\w+)\}?"/g,
    (whole, label: string, op: string, name: string) => {
      if (name.startsWith('__')) return whole;
      const value = valueOf(name);
      if (value === undefined) return `${label}=~".*"`;
      const regex = op === '=~' || op === '!~';
      return `${label}${op}"${escapeString(regex ? escapeRegex(value) : value)}"`;
    },
  );
  // Anything else that names a variable (rare in a matcher): its value as it is.
  return labelMatchers.replace(/\$\{?(\w+)\}?/g, (whole, name: string) => (name.startsWith('__') ? whole : (valueOf(name) ?? '.*')));
}

/** The proxy prefix of the Prometheus datasource a dashboard of `project` uses by default. */
export async function defaultPrometheusProxy(project: string): Promise<string> {
  const own = await listDatasources(project, PROMETHEUS).catch(() => []);
  const ownDefault = own.find((d) => d.spec.default === true);
  if (ownDefault) return proxyUrlFor(project, { project, name: ownDefault.metadata.name });
  const global = await listGlobalDatasources(PROMETHEUS).catch(() => []);
  const globalDefault = global.find((d) => d.spec.default === true) ?? global[0];
  return proxyUrlFor(project, { name: globalDefault?.metadata.name ?? 'local' });
}

/** How far back the suggestions look. */
const LOOKBACK_SECONDS = 24 * 3600;

/** The values of `source.labelName` on the series its (filled) matchers select, sorted. */
export async function labelValues(proxy: string, source: LabelValuesSource, values: Record<string, string>, signal?: AbortSignal): Promise<string[]> {
  const params = new URLSearchParams();
  for (const matcher of source.matchers) params.append('match[]', fillMatcher(matcher, values));
  const end = Math.floor(Date.now() / 1000);
  params.set('start', String(end - LOOKBACK_SECONDS));
  params.set('end', String(end));
  const path = `${proxy}/api/v1/label/${encodeURIComponent(source.labelName)}/values?${params.toString()}`;
  const answer = await request<{ status?: string; data?: unknown }>(path, { signal });
  const data = Array.isArray(answer.body?.data) ? answer.body.data.filter((v): v is string => typeof v === 'string') : [];
  return [...data].sort((a, b) => a.localeCompare(b));
}
