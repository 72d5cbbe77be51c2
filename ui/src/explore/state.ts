// What the Explore page keeps in its address, so a copied link opens the same view: the project
// (absent: no project, the admin's unrestricted view), the datasource, the query that ran and the
// view (graph or table). The time range and refresh interval are the Perses parameters `start`,
// `end` and `refresh`, the same as on a dashboard; they are left alone here.

export type ExploreView = 'graph' | 'table';

export interface ExploreState {
  project?: string;
  datasource?: string;
  /** The query that ran (the editor may hold a newer draft). */
  query: string;
  view: ExploreView;
}

const PARAMS = { project: 'project', datasource: 'datasource', query: 'query', view: 'view' } as const;

/** The state an address holds; missing parts are undefined, '' or the graph view. */
export function readState(params: URLSearchParams): ExploreState {
  const text = (name: string) => {
    const value = params.get(name);
    return value === null || value === '' ? undefined : value;
  };
  return {
    project: text(PARAMS.project),
    datasource: text(PARAMS.datasource),
    query: params.get(PARAMS.query) ?? '',
    view: params.get(PARAMS.view) === 'table' ? 'table' : 'graph',
  };
}

/** `params` with `changes` applied (an undefined or empty value removes the parameter); the time
 * range parameters and anything else are kept. */
export function writeState(params: URLSearchParams, changes: Partial<ExploreState>): URLSearchParams {
  const next = new URLSearchParams(params);
  for (const key of Object.keys(changes) as (keyof ExploreState)[]) {
    const value = changes[key];
    if (value === undefined || value === '' || (key === 'view' && value === 'graph')) next.delete(PARAMS[key]);
    else next.set(PARAMS[key], value);
  }
  return next;
}

/** The address of the Explore page for a query (used by links from elsewhere). */
export function exploreUrl(state: Partial<ExploreState>): string {
  const search = writeState(new URLSearchParams(), state).toString();
  return search ? `/explore?${search}` : '/explore';
}
