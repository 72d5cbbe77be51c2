// How Perses finds datasources and where it sends their queries. Every query goes through the
// Pharos proxy, so the server applies the project's tenant enforcement; a global datasource used
// from a dashboard goes through the project-scoped route for the same reason.
import type { BuildDatasourceProxyUrlParams, DatasourceApi } from '@perses-dev/dashboards';
import {
  findDatasource,
  findGlobalDatasource,
  listDatasources,
  listGlobalDatasources,
} from '../api/resources';

const seg = encodeURIComponent;

/** The proxy URL prefix for a datasource, seen from `project`. */
export function proxyUrlFor(project: string, params: BuildDatasourceProxyUrlParams): string {
  const viaProject = `/proxy/projects/${seg(params.project ?? project)}`;
  if (params.dashboard !== undefined) {
    return `${viaProject}/dashboards/${seg(params.dashboard)}/datasources/${seg(params.name)}`;
  }
  if (params.project !== undefined) return `${viaProject}/datasources/${seg(params.name)}`;
  return `${viaProject}/globaldatasources/${seg(params.name)}`;
}

/** The datasource API for dashboards of one project. */
export function datasourceApiFor(project: string): DatasourceApi {
  return {
    buildProxyUrl: (params) => proxyUrlFor(project, params),
    getDatasource: (inProject, selector) => findDatasource(inProject, selector),
    getGlobalDatasource: (selector) => findGlobalDatasource(selector),
    listDatasources: (inProject, pluginKind) => listDatasources(inProject, pluginKind),
    listGlobalDatasources: (pluginKind) => listGlobalDatasources(pluginKind),
  };
}
