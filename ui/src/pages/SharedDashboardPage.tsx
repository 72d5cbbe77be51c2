// `/shared/{token}`: a dashboard opened through a share link, read-only and without a login
// (docs/user/authentication.md, "Share links"). The link fixes the variables and the starting
// time range; panel data comes only through `/proxy/shared/{token}` (perses/sharedDashboard.ts).
import { lazy, useEffect, useMemo, useState, type ReactNode } from 'react';
import { useLocation, useNavigate, useParams } from 'react-router-dom';
import Alert from '@mui/material/Alert';
import AlertTitle from '@mui/material/AlertTitle';
import AppBar from '@mui/material/AppBar';
import Box from '@mui/material/Box';
import Chip from '@mui/material/Chip';
import Toolbar from '@mui/material/Toolbar';
import Typography from '@mui/material/Typography';
import { openShared, type SharedView } from '../api/account';
import { ApiError, messageOf } from '../api/http';
import { useLoad } from '../api/useLoad';
import { PageLoading } from '../components/Layout';
import { absoluteRangeParams, sharedDashboard, sharedDatasourceApi } from '../perses/sharedDashboard';

const PersesDashboard = lazy(() => import('../perses/PersesDashboard'));

/** What the viewer is told when the link cannot be opened. */
function refusal(error: unknown): { title: string; text: string } {
  const status = error instanceof ApiError ? error.status : 0;
  if (status === 404) return { title: 'Share link not found or revoked', text: 'This link does not exist or was revoked. Ask whoever sent it for a new one.' };
  if (status === 410) return { title: 'Share link expired', text: 'This link has expired. Ask whoever sent it for a new one.' };
  if (status === 403) return { title: 'Share link not usable from here', text: messageOf(error) };
  if (status === 429) return { title: 'Too many attempts', text: `${messageOf(error)} Wait a minute and reload.` };
  return { title: 'Cannot open this share link', text: messageOf(error) };
}

function SharedFrame({ children, expiresAt }: { children: ReactNode; expiresAt?: string | null }) {
  return (
    <Box sx={{ display: 'flex', flexDirection: 'column', height: '100vh' }}>
      <AppBar position="static" elevation={0}>
        <Toolbar variant="dense" sx={{ gap: 2 }}>
          <Typography variant="h6" sx={{ fontWeight: 700 }}>
            Pharos
          </Typography>
          <Typography variant="body2">Shared dashboard, read-only</Typography>
          <Box sx={{ flexGrow: 1 }} />
          {expiresAt ? (
            <Typography variant="body2" data-testid="shared-expires">
              Link valid until {new Date(expiresAt).toLocaleString()}
            </Typography>
          ) : null}
        </Toolbar>
      </AppBar>
      <Box component="main" sx={{ flex: 1, minHeight: 0, overflow: 'auto', display: 'flex', flexDirection: 'column' }}>
        {children}
      </Box>
    </Box>
  );
}

function SharedDashboard({ token, view }: { token: string; view: SharedView }) {
  const location = useLocation();
  const navigate = useNavigate();
  const dashboard = useMemo(
    () => sharedDashboard(view.dashboard, token, view.variables, view.time_range),
    [view, token],
  );
  const datasourceApi = useMemo(() => sharedDatasourceApi(token), [token]);
  // An absolute shared range goes into the address, where Perses reads it; a relative one is
  // the dashboard's duration.
  const [ready, setReady] = useState(false);
  useEffect(() => {
    if (ready) return;
    const params = new URLSearchParams(location.search);
    const absolute = absoluteRangeParams(view.time_range);
    if (absolute && !params.has('start')) {
      params.set('start', absolute.start);
      params.set('end', absolute.end);
      navigate({ pathname: location.pathname, search: `?${params.toString()}` }, { replace: true });
    }
    setReady(true);
  }, [ready, location, navigate, view.time_range]);
  if (!ready) return <PageLoading />;
  const title = (
    <Box sx={{ display: 'flex', alignItems: 'center', gap: 1, minWidth: 0 }}>
      <Typography noWrap data-testid="dashboard-title" sx={{ fontSize: '1.25rem', lineHeight: 1.6, fontWeight: 700 }}>
        {view.dashboard.spec.display?.name ?? view.dashboard.metadata.name}
      </Typography>
      <Chip size="small" label="read-only" variant="outlined" />
    </Box>
  );
  return (
    <Box sx={{ flex: 1, minHeight: 0, display: 'flex' }}>
      <PersesDashboard dashboard={dashboard} title={title} readOnly datasourceApi={datasourceApi} />
    </Box>
  );
}

export default function SharedDashboardPage() {
  const { token = '' } = useParams();
  const loaded = useLoad(() => openShared(token), token);
  if (loaded.error) {
    const { title, text } = refusal(loaded.error);
    return (
      <SharedFrame>
        <Box sx={{ p: 3 }}>
          <Alert severity="error" role="alert" data-testid="shared-error">
            <AlertTitle>{title}</AlertTitle>
            {text}
          </Alert>
        </Box>
      </SharedFrame>
    );
  }
  if (!loaded.data) {
    return (
      <SharedFrame>
        <PageLoading />
      </SharedFrame>
    );
  }
  return (
    <SharedFrame expiresAt={loaded.data.expires_at}>
      <SharedDashboard token={token} view={loaded.data} />
    </SharedFrame>
  );
}
