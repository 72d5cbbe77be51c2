// The login page: `/login?rd=<path>` logs in with the native provider (the server sets the session
// cookies) and returns to `rd` — only a path of this site, anything else goes to the start page.
import { useEffect, useState, type FormEvent } from 'react';
import { Navigate, useNavigate, useSearchParams } from 'react-router-dom';
import Alert from '@mui/material/Alert';
import Box from '@mui/material/Box';
import Button from '@mui/material/Button';
import Paper from '@mui/material/Paper';
import TextField from '@mui/material/TextField';
import Typography from '@mui/material/Typography';
import { logIn, whoami } from '../api/auth';
import { messageOf } from '../api/http';
import { keepSessionFresh, safeReturnPath } from '../api/session';
import { useSession } from '../components/Session';

export default function LoginPage() {
  const { enableAuth, setUser } = useSession();
  const navigate = useNavigate();
  const [params] = useSearchParams();
  const target = safeReturnPath(params.get('rd'));
  const [login, setLogin] = useState('');
  const [password, setPassword] = useState('');
  const [error, setError] = useState<unknown>();
  const [busy, setBusy] = useState(false);

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

  return (
    <Box sx={{ minHeight: '100vh', display: 'flex', alignItems: 'center', justifyContent: 'center', p: 2 }}>
      <Paper variant="outlined" sx={{ width: '100%', maxWidth: 380, p: 4 }}>
        <Typography variant="h5" component="h1" sx={{ fontWeight: 700, mb: 0.5 }}>
          Pharos
        </Typography>
        <Typography color="text.secondary" sx={{ mb: 2 }}>
          Log in to continue.
        </Typography>
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
      </Paper>
    </Box>
  );
}
