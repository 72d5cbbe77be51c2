// The Perses packages send panel queries and editor lookups with their own `fetch` helper (through
// `global.fetch`). The session is usually renewed before the access token expires (session.ts), but
// a timer does not run while a laptop sleeps: a query refused with 401 renews the session once and
// is sent again, as the UI's own calls are (api/http.ts); if that fails, the login page follows.
// In live mode a range query the dashboard's stream has just answered is answered from it,
// without the network (liveStream.ts).
import { goToLogin, isAuthEnabled, renewAccessToken } from '../api/session';
import { answerFromLiveStream } from './liveStream';

/** Datasource queries (every one goes through the Pharos proxy, see datasourceApi.ts). API calls
 * go through api/http.ts, which does the same itself. */
function proxyCall(input: string | URL): boolean {
  const url = new URL(input instanceof URL ? input.href : input, window.location.origin);
  // A share link's queries carry no session: a refusal there is the link's, not the login's.
  return url.origin === window.location.origin && url.pathname.startsWith('/proxy/') && !url.pathname.startsWith('/proxy/shared/');
}

let installed = false;

/** Wraps `globalThis.fetch` once (idempotent). */
export function installSessionFetch(): void {
  if (installed) return;
  installed = true;
  const original = globalThis.fetch.bind(globalThis);
  globalThis.fetch = async (input: RequestInfo | URL, init?: RequestInit) => {
    const live = answerFromLiveStream(input, init);
    if (live) return live;
    // A Request's body can be read only once; those are passed through untouched.
    const retriable = !(input instanceof Request) && proxyCall(input);
    const response = await original(input, init);
    if (response.status !== 401 || !retriable || !isAuthEnabled()) return response;
    if (!(await renewAccessToken())) {
      goToLogin();
      return response;
    }
    const again = await original(input, init);
    if (again.status === 401) goToLogin();
    return again;
  };
}
