// The Prometheus datasources Explore can query, and where their queries go. From a project, the
// project's own datasources and the global ones are offered, and every query goes through the
// project's proxy routes (the project's tenant enforcement applies, as on its dashboards). Without
// a project only the global ones are offered, queried through the plain global route, which needs
// the global `read` on `Metrics` (administrators): it reads every tenant's data.
import type { DatasourceSpec } from '@perses-dev/core';
import type { BuildDatasourceProxyUrlParams, DatasourceApi } from '@perses-dev/dashboards';
import { listDatasources, listGlobalDatasources } from '../api/resources';
import { datasourceApiFor } from '../perses/datasourceApi';

export const PROMETHEUS_KIND = 'PrometheusDatasource' as const;

export interface DatasourceChoice {
  name: string;
  scope: 'project' | 'global';
  /** The datasource's display name, when it has one. */
  display?: string;
  isDefault: boolean;
  /** A global datasource hidden by a project datasource of the same name: queries naming it
   * reach the project's (Perses resolves a name project first, as on dashboards). */
  shadowed: boolean;
}

export interface DatasourceChoices {
  /** The project they are seen from. */
  project: string | undefined;
  choices: DatasourceChoice[];
  /** Why the global datasources could not be listed (a project role grants no read on them). */
  globalError?: unknown;
}

function choice(name: string, spec: DatasourceSpec, scope: DatasourceChoice['scope'], shadowed = false): DatasourceChoice {
  return { name, scope, display: spec.display?.name, isDefault: spec.default === true, shadowed };
}

/** The Prometheus datasources seen from `project` (or without one): the project's first. */
export async function loadChoices(project: string | undefined): Promise<DatasourceChoices> {
  const [own, global] = await Promise.all([
    project === undefined ? Promise.resolve([]) : listDatasources(project, PROMETHEUS_KIND),
    listGlobalDatasources(PROMETHEUS_KIND).then(
      (items) => ({ items, error: undefined as unknown }),
      (error: unknown) => ({ items: [], error }),
    ),
  ]);
  const ownNames = new Set(own.map((d) => d.metadata.name));
  const byName = <T extends { metadata: { name: string } }>(a: T, b: T) => a.metadata.name.localeCompare(b.metadata.name);
  return {
    project,
    choices: [
      ...[...own].sort(byName).map((d) => choice(d.metadata.name, d.spec, 'project')),
      ...[...global.items].sort(byName).map((d) => choice(d.metadata.name, d.spec, 'global', ownNames.has(d.metadata.name))),
    ],
    globalError: global.error,
  };
}

/** The datasource a fresh page starts with: the project's default, the global default, the first. */
export function defaultChoice(choices: DatasourceChoice[]): DatasourceChoice | undefined {
  const usable = choices.filter((c) => !c.shadowed);
  return (
    usable.find((c) => c.scope === 'project' && c.isDefault) ??
    usable.find((c) => c.scope === 'global' && c.isDefault) ??
    usable[0]
  );
}

/** How the Perses packages find datasources and build proxy URLs for Explore. */
export function exploreDatasourceApi(project: string | undefined): DatasourceApi {
  if (project !== undefined) return datasourceApiFor(project);
  const fromProjects = datasourceApiFor('');
  return {
    ...fromProjects,
    buildProxyUrl: (params: BuildDatasourceProxyUrlParams) =>
      params.project === undefined && params.dashboard === undefined
        ? `/proxy/globaldatasources/${encodeURIComponent(params.name)}`
        : (fromProjects.buildProxyUrl?.(params) ?? ''),
    getDatasource: async () => undefined,
    listDatasources: async () => [],
  };
}
