// The login page: `/login?rd=<path>` logs in with the native provider (the server sets the session
// cookies) and returns to `rd` — only a path of this site, anything else goes to the start page.
// Each OIDC or OAuth provider of `/api/config` gets a "Sign in with …" button that leaves for the
// server's provider login (which comes back to `rd`); the form shows only when the native provider
// is on. `?error=<message>` is what the server says when a provider login failed.
import { useEffect, useState, type FormEvent } from 'react';
import { Navigate, useNavigate, useSearchParams } from 'react-router-dom';
import Alert from '@mui/material/Alert';
import Box from '@mui/material/Box';
import Button from '@mui/material/Button';
import Divider from '@mui/material/Divider';
import Paper from '@mui/material/Paper';
import TextField from '@mui/material/TextField';
import Stack from '@mui/material/Stack';
import Typography from '@mui/material/Typography';
import { getConfig, logIn, whoami } from '../api/auth';
import { messageOf } from '../api/http';
import { providerLoginPath, providersOf, type ExternalProvider } from '../api/rbac';
import { keepSessionFresh, safeReturnPath } from '../api/session';
import { useLoad } from '../api/useLoad';
import { ErrorNotice } from '../components/ErrorNotice';
import { PageLoading } from '../components/Layout';
import { useSession } from '../components/Session';

interface ProviderButton extends ExternalProvider {
  kind: 'oidc' | 'oauth';
}

export default function LoginPage() {
  const { enableAuth, setUser } = useSession();
  const navigate = useNavigate();
  const [params] = useSearchParams();
  const target = safeReturnPath(params.get('rd'));
  const [login, setLogin] = useState('');
  const [password, setPassword] = useState('');
  const [error, setError] = useState<unknown>();
  const [busy, setBusy] = useState(false);
  const config = useLoad(getConfig, 'config');
  // The server sends a failed provider login back here with its message.
  const providerError = params.get('error');

  useEffect(() => {
    document.title = 'Log in · Pharos';
    return () => {
      document.title = 'Pharos';
    };
  }, []);

  // Nothing to log in to.
  if (!enableAuth) return <Navigate to={target} replace />;

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setBusy(true);
    setError(undefined);
    try {
      await logIn(login.trim(), password);
      setUser(await whoami());
      keepSessionFresh();
      navigate(target, { replace: true });
    } catch (e) {
      setError(e);
      setBusy(false);
    }
  };

  // Without the config (rare: the app just read it) the native form is offered, as before providers.
  const providers = providersOf(config.data ?? {});
  const external: ProviderButton[] = [
    ...providers.oidc.map((p) => ({ ...p, kind: 'oidc' as const })),
    ...providers.oauth.map((p) => ({ ...p, kind: 'oauth' as const })),
  ];
  const loadingConfig = config.data === undefined && config.error === undefined;

  return (
    <Box sx={{ minHeight: '100vh', display: 'flex', alignItems: 'center', justifyContent: 'center', p: 2 }}>
      <Paper variant="outlined" sx={{ width: '100%', maxWidth: 380, p: 4 }}>
        <Typography variant="h5" component="h1" sx={{ fontWeight: 700, mb: 0.5 }}>
          Pharos
        </Typography>
        <Typography color="text.secondary" sx={{ mb: 2 }}>
          Log in to continue.
        </Typography>
        {providerError && error === undefined ? (
          <Alert severity="error" role="alert" data-testid="login-provider-error" sx={{ mb: 1 }}>
            {providerError}
          </Alert>
        ) : null}
        <ErrorNotice error={config.error} title="Cannot read the login providers" onRetry={config.reload} />
        {loadingConfig ? <PageLoading /> : null}
        {external.length > 0 ? (
          <Stack spacing={1} sx={{ mb: providers.enable_native ? 2 : 0 }}>
            {external.map((p) => (
              <Button
                key={`${p.kind}/${p.slug_id}`}
                variant="outlined"
                fullWidth
                data-testid={`login-provider-${p.kind}-${p.slug_id}`}
                onClick={() => window.location.assign(providerLoginPath(p.kind, p.slug_id, target))}
              >
                Sign in with {p.name}
              </Button>
            ))}
          </Stack>
        ) : null}
        {!loadingConfig && external.length > 0 && providers.enable_native ? <Divider sx={{ mb: 1 }}>or</Divider> : null}
        {!loadingConfig && providers.kubernetes.enable ? (
          <Alert severity="info" sx={{ mb: 1 }} data-testid="login-kubernetes">
            This server signs you in with your cluster account. Open it through the cluster&apos;s OAuth proxy (its
            route), or send your cluster token as <code>Authorization: Bearer</code>.
          </Alert>
        ) : null}
        {!loadingConfig && external.length === 0 && !providers.enable_native && !providers.kubernetes.enable ? (
          <Alert severity="warning" sx={{ mb: 1 }}>
            This server offers no way to log in: its login providers are all switched off.
          </Alert>
        ) : null}
        {!loadingConfig && providers.enable_native ? (
          <Box component="form" onSubmit={(e) => void submit(e)} aria-label="Log in">
            {error !== undefined ? (
              <Alert severity="error" role="alert" data-testid="login-error" sx={{ mb: 1 }}>
                {messageOf(error)}
              </Alert>
            ) : null}
            <TextField
              label="Username"
              name="username"
              autoComplete="username"
              autoFocus
              required
              fullWidth
              margin="dense"
              value={login}
              onChange={(e) => setLogin(e.target.value)}
            />
            <TextField
              label="Password"
              name="password"
              type="password"
              autoComplete="current-password"
              required
              fullWidth
              margin="dense"
              value={password}
              onChange={(e) => setPassword(e.target.value)}
            />
            <Button type="submit" variant="contained" fullWidth disabled={busy} sx={{ mt: 2 }}>
              Sign in
            </Button>
          </Box>
        ) : null}
      </Paper>
    </Box>
  );
}
