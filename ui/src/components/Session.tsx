// Who is using the UI: `/api/config` is read once when the app starts (does the server ask for a
// login at all?), and every page but the login page needs a session — without one the user is
// sent to `/login?rd=<this page>`.
import { createContext, useContext, useEffect, useMemo, useState, type ReactNode } from 'react';
import Box from '@mui/material/Box';
import { getConfig, whoami, type UserResource } from '../api/auth';
import { ApiError } from '../api/http';
import { providersOf } from '../api/rbac';
import {
  goToLogin,
  hasCookieSessions,
  hasFreshAccessToken,
  keepSessionFresh,
  renewAccessToken,
  setAuthEnabled,
  setCookieSessions,
} from '../api/session';
import { useLoad } from '../api/useLoad';
import { ErrorNotice } from './ErrorNotice';
import { PageLoading } from './Layout';

interface SessionState {
  /** `security.enable_auth` of the server: false means no login page and no user menu. */
  enableAuth: boolean;
  /** The logged-in user, once known (always undefined when auth is off). */
  user: UserResource | undefined;
  setUser: (user: UserResource | undefined) => void;
}

const SessionContext = createContext<SessionState | undefined>(undefined);

export function useSession(): SessionState {
  const session = useContext(SessionContext);
  if (!session) throw new Error('useSession outside SessionProvider');
  return session;
}

async function loadConfig() {
  const config = await getConfig();
  const enableAuth = config.security?.enable_auth === true;
  setAuthEnabled(enableAuth);
  setCookieSessions(!providersOf(config).kubernetes.enable);
  return enableAuth;
}

/** Reads the server's config once and shares the session with every page. */
export function SessionProvider({ children }: { children: ReactNode }) {
  const config = useLoad(loadConfig, 'config');
  const [user, setUser] = useState<UserResource | undefined>();
  const enableAuth = config.data;
  const value = useMemo(() => ({ enableAuth: enableAuth === true, user, setUser }), [enableAuth, user]);
  if (enableAuth === undefined) {
    return config.error ? (
      <Box sx={{ p: 3 }}>
        <ErrorNotice error={config.error} title="Cannot read the server's configuration" onRetry={config.reload} />
      </Box>
    ) : (
      <PageLoading />
    );
  }
  return <SessionContext.Provider value={value}>{children}</SessionContext.Provider>;
}

/** Shows `children` only with a session (or with auth off); otherwise goes to the login page. */
export function RequireSession({ children }: { children: ReactNode }) {
  const { enableAuth, user, setUser } = useSession();
  const [error, setError] = useState<unknown>();
  const [attempt, setAttempt] = useState(0);
  const needed = enableAuth && user === undefined;

  useEffect(() => {
    if (!needed) return;
    let current = true;
    const check = async () => {
      // Without a live access token (the cookie expired, or never was), renew first: that spares
      // a whoami refused with 401, and without a refresh token it goes straight to the login page.
      if (hasCookieSessions() && !hasFreshAccessToken() && !(await renewAccessToken())) {
        goToLogin();
        return;
      }
      const me = await whoami();
      keepSessionFresh();
      if (current) setUser(me);
    };
    check().catch((e: unknown) => {
      // A 401 has already sent the user to the login page.
      if (current && !(e instanceof ApiError && e.status === 401)) setError(e);
    });
    return () => {
      current = false;
    };
  }, [needed, attempt, setUser]);

  if (!needed) return <>{children}</>;
  if (error) {
    return (
      <Box sx={{ p: 3 }}>
        <ErrorNotice
          error={error}
          title="Cannot tell who is logged in"
          onRetry={() => {
            setError(undefined);
            setAttempt((n) => n + 1);
          }}
        />
      </Box>
    );
  }
  return <PageLoading />;
}
