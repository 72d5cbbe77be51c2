// The browser's login session (docs/user/authentication.md): the server keeps it in cookies —
// `jwtPayload` (readable here: the access token's header and payload), `jwtSignature` and
// `jwtRefreshToken` (both HttpOnly). This module renews the access token before it expires (the
// Perses packages send their proxy queries with the cookies and cannot renew it themselves), renews
// it once when a call is refused with 401, and sends the user to the login page when that fails.
// No React here: `http.ts` uses it for every call.

let authEnabled = false;

/** Set once from `/api/config` (`security.enable_auth`); with auth off a 401 is just an error. */
export function setAuthEnabled(enabled: boolean): void {
  authEnabled = enabled;
}

export function isAuthEnabled(): boolean {
  return authEnabled;
}

let cookieSessions = true;

/**
 * Set once from `/api/config`: false under `auth: kubernetes`, where no session cookies exist (the
 * cluster's OAuth proxy sends the user's token with every request), so there is nothing to renew.
 */
export function setCookieSessions(enabled: boolean): void {
  cookieSessions = enabled;
}

export function hasCookieSessions(): boolean {
  return cookieSessions;
}

export const LOGIN_PATH = '/login';

/** The page the user is on (path, query and fragment), to come back to after logging in. */
export function currentPath(): string {
  const { pathname, search, hash } = window.location;
  return `${pathname}${search}${hash}`;
}

/** The login page's address, remembering where to return. */
export function loginPath(returnTo: string = currentPath()): string {
  return `${LOGIN_PATH}?rd=${encodeURIComponent(safeReturnPath(returnTo))}`;
}

/**
 * Where the login page may send the user: only a path of this site ("/..." but not "//host" or
 * "/\host", which browsers read as another host); anything else, and the login page itself, is "/".
 */
export function safeReturnPath(rd: string | null | undefined): string {
  if (!rd || !rd.startsWith('/') || rd.startsWith('//') || rd.startsWith('/\\')) return '/';
  let url: URL;
  try {
    // The parser also drops tabs and newlines ("/\t/evil.example" is "//evil.example").
    url = new URL(rd, window.location.origin);
  } catch {
    return '/';
  }
  if (url.origin !== window.location.origin || url.pathname === LOGIN_PATH) return '/';
  return `${url.pathname}${url.search}${url.hash}`;
}

type Navigator = (path: string) => void | Promise<void>;
let navigate: Navigator = (path) => window.location.assign(path);
let leaving = false;

/** The app's router navigation (no page reload); without it the login page is loaded anew. */
export function setNavigator(navigator: Navigator): void {
  navigate = navigator;
}

/** Sends the user to the login page once, however many calls found the session gone at once. */
export function goToLogin(): void {
  if (leaving || window.location.pathname === LOGIN_PATH) return;
  leaving = true;
  // Once done (or refused: the dashboard editor holds the page while it has unsaved edits), a
  // later lost session may lead there again.
  void Promise.resolve(navigate(loginPath())).finally(() => {
    leaving = false;
  });
}

/** The seconds-since-epoch claims of the access token in the `jwtPayload` cookie, if any. */
function accessClaims(): { exp?: number; iat?: number; sub?: unknown } | undefined {
  const cookie = document.cookie
    .split(';')
    .map((part) => part.trim())
    .find((part) => part.startsWith('jwtPayload='));
  if (!cookie) return undefined;
  try {
    // "header.payload", base64url without padding.
    const payload = decodeURIComponent(cookie.slice('jwtPayload='.length)).split('.')[1];
    if (!payload) return undefined;
    const base64 = payload.replace(/-/g, '+').replace(/_/g, '/');
    const claims = JSON.parse(atob(base64 + '='.repeat((4 - (base64.length % 4)) % 4))) as unknown;
    return typeof claims === 'object' && claims !== null ? (claims as { exp?: number; iat?: number; sub?: unknown }) : undefined;
  } catch {
    return undefined;
  }
}

/** The user the access token in the cookies was issued to, if any. */
export function accessTokenSubject(): string | undefined {
  const sub = accessClaims()?.sub;
  return typeof sub === 'string' && sub !== '' ? sub : undefined;
}

/** Milliseconds until the access token expires (negative once it has), or undefined without one. */
function accessTokenLifeLeft(): number | undefined {
  const exp = accessClaims()?.exp;
  return typeof exp === 'number' ? exp * 1000 - Date.now() : undefined;
}

/** True when the page holds an access token that is not about to expire. */
export function hasFreshAccessToken(): boolean {
  const left = accessTokenLifeLeft();
  return left !== undefined && left > 5_000;
}

let renewal: Promise<boolean> | undefined;
let renewalTimer: ReturnType<typeof setTimeout> | undefined;

/**
 * Asks for a new access token with the refresh-token cookie; resolves true when the cookies were
 * renewed. Calls that fail at the same time share one request.
 */
export function renewAccessToken(): Promise<boolean> {
  if (!cookieSessions) return Promise.resolve(false);
  renewal ??= fetch('/api/auth/refresh', {
    method: 'POST',
    credentials: 'same-origin',
    headers: { Accept: 'application/json' },
  })
    .then(
      (response) => response.ok,
      () => false,
    )
    .then((ok) => {
      renewal = undefined;
      if (ok) keepSessionFresh();
      return ok;
    });
  return renewal;
}

/**
 * Renews the access token a minute before it expires, for as long as the page is open, so that
 * panel queries (sent by the Perses packages with the cookies) keep working.
 */
export function keepSessionFresh(): void {
  if (renewalTimer !== undefined) clearTimeout(renewalTimer);
  renewalTimer = undefined;
  if (!cookieSessions) return;
  const left = accessTokenLifeLeft();
  if (left === undefined) return;
  // At least 30 s apart, even when the clocks of browser and server disagree.
  renewalTimer = setTimeout(() => void renewAccessToken(), Math.max(left - 60_000, 30_000));
}
