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

// Perses resolves the datasource again for every query of every panel; a short-lived cache
// keeps a dashboard load at one lookup per datasource while edits elsewhere still show up soon.
const CACHE_MS = 30_000;

function cached<A extends unknown[], R>(load: (...args: A) => Promise<R>): (...args: A) => Promise<R> {
  const entries = new Map<string, { at: number; value: Promise<R> }>();
  return (...args: A) => {
    const key = JSON.stringify(args);
    const hit = entries.get(key);
    if (hit && Date.now() - hit.at < CACHE_MS) return hit.value;
    const value = load(...args);
    entries.set(key, { at: Date.now(), value });
    // A failed lookup must not be remembered.
    value.catch(() => entries.delete(key));
    return value;
  };
}

/** The datasource API for dashboards of one project. */
export function datasourceApiFor(project: string): DatasourceApi {
  return {
    buildProxyUrl: (params) => proxyUrlFor(project, params),
    getDatasource: cached(findDatasource),
    getGlobalDatasource: cached(findGlobalDatasource),
    listDatasources: cached(listDatasources),
    listGlobalDatasources: cached(listGlobalDatasources),
  };
}
