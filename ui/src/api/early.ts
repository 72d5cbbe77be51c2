// Calls the first page will make anyway, sent before React and the page's code have loaded.
// Without this a dashboard load is a chain of round trips, each waiting for the code that makes
// it: config → whoami → the page's code → permissions and preferences → the dashboard → the
// Perses code → datasources → queries. Here the API calls all leave at once, while the browser
// is still busy evaluating the bundle; `http.ts` takes each answer once, in place of sending the
// same GET again. Later calls to the same path go to the server as usual.
import { accessTokenSubject, hasFreshAccessToken } from './session';

const pending = new Map<string, Promise<Response>>();

const seg = encodeURIComponent;

function get(path: string): Promise<Response> {
  return fetch(path, { headers: { Accept: 'application/json' }, credentials: 'same-origin' });
}

function start(path: string): Promise<Response> {
  const answer = get(path);
  pending.set(path, answer);
  return answer;
}

/**
 * Starts `path` once `first` answered successfully. A page whose first call failed (a missing
 * project) never asks for the rest, and an unasked early call that fails would still show up in
 * the browser's console; a skipped one is simply sent again if it is asked for after all.
 */
function startAfter(first: Promise<Response>, path: string): void {
  const answer = first.then((response) => (response.ok ? get(path) : Promise.reject(new Error('not started'))));
  // Handled here, so a skipped call is no unhandled rejection; send() falls back on a rejection.
  answer.catch(() => undefined);
  pending.set(path, answer);
}

/** The project and dashboard of a dashboard page's path, if `pathname` is one. */
export function dashboardOfPath(pathname: string): { project: string; dashboard: string } | undefined {
  const match = /^\/projects\/([^/]+)\/dashboards\/([^/]+)\/?$/.exec(pathname);
  if (!match) return undefined;
  try {
    return { project: decodeURIComponent(match[1]), dashboard: decodeURIComponent(match[2]) };
  } catch {
    return undefined;
  }
}

/**
 * Starts the API calls the page at `pathname` will make. Only with a fresh access token: without
 * one they would be refused, and the session code renews it first anyway.
 */
export function startEarlyLoads(pathname: string): void {
  start('/api/config');
  const user = accessTokenSubject();
  if (!hasFreshAccessToken() || user === undefined) return;
  start('/api/v1/user/whoami');
  start(`/api/v1/users/${seg(user)}/permissions`);
  start('/api/v1/preferences');
  const page = dashboardOfPath(pathname);
  if (page === undefined) return;
  const project = `/api/v1/projects/${seg(page.project)}`;
  const dashboard = start(`${project}/dashboards/${seg(page.dashboard)}`);
  // The datasources its Prometheus panels will look up (datasourceApi.ts resolves them from these
  // lists), once the dashboard is known to exist.
  startAfter(dashboard, `${project}/datasources?kind=PrometheusDatasource`);
  startAfter(dashboard, '/api/v1/globaldatasources?kind=PrometheusDatasource');
}

/** The early answer for a GET of `path`, once; undefined when none was started (or it is taken). */
export function takeEarlyLoad(path: string): Promise<Response> | undefined {
  const answer = pending.get(path);
  pending.delete(path);
  return answer;
}
