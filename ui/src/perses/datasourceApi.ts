// How Perses finds datasources and where it sends their queries. Every query goes through the
// Pharos proxy, so the server applies the project's tenant enforcement; a global datasource used
// from a dashboard goes through the project-scoped route for the same reason.
import type { BuildDatasourceProxyUrlParams, DatasourceApi } from '@perses-dev/dashboards';
import type { DatasourceSelector } from '@perses-dev/core';
import { listDatasources, listGlobalDatasources } from '../api/resources';

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

/** The datasource a selector names, or the default one of its kind (as the server's `default` flag says). */
function selected<T extends { metadata: { name: string }; spec: { default?: boolean } }>(
  items: T[],
  selector: DatasourceSelector,
): T | undefined {
  return selector.name === undefined
    ? items.find((item) => item.spec.default === true)
    : items.find((item) => item.metadata.name === selector.name);
}

/**
 * The datasource API for dashboards of one project. A lookup is answered from the list of its
 * kind: one request per scope and kind for the whole dashboard, which early.ts has usually sent
 * before this code even loaded.
 */
export function datasourceApiFor(project: string): DatasourceApi {
  const projectList = cached(listDatasources);
  const globalList = cached(listGlobalDatasources);
  return {
    buildProxyUrl: (params) => proxyUrlFor(project, params),
    getDatasource: async (inProject, selector) => selected(await projectList(inProject, selector.kind), selector),
    getGlobalDatasource: async (selector) => selected(await globalList(selector.kind), selector),
    listDatasources: projectList,
    listGlobalDatasources: globalList,
  };
}
