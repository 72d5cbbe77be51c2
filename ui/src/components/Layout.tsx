// The application frame: a top bar (home, global datasources, import, theme toggle) and the page.
import { Suspense, type ReactNode } from 'react';
import { Link as RouterLink, Outlet } from 'react-router-dom';
import AppBar from '@mui/material/AppBar';
import Box from '@mui/material/Box';
import Button from '@mui/material/Button';
import CircularProgress from '@mui/material/CircularProgress';
import IconButton from '@mui/material/IconButton';
import Toolbar from '@mui/material/Toolbar';
import Tooltip from '@mui/material/Tooltip';
import Typography from '@mui/material/Typography';
// Named imports from the ESM index: the per-icon files are CommonJS.
import { WeatherNight as WeatherNightIcon, WhiteBalanceSunny as WhiteBalanceSunnyIcon } from 'mdi-material-ui';
import { useColorMode } from '../theme/colorMode';

/** Shown while a lazily loaded page downloads. */
export function PageLoading() {
  return (
    <Box sx={{ display: 'flex', justifyContent: 'center', p: 6 }} aria-busy="true">
      <CircularProgress aria-label="Loading" />
    </Box>
  );
}

function ThemeToggle() {
  const { mode, followsSystem, toggle } = useColorMode();
  const next = mode === 'dark' ? 'light' : 'dark';
  const hint = `Switch to ${next} theme${followsSystem ? ' (now following the system setting)' : ''}`;
  return (
    <Tooltip title={hint}>
      <IconButton color="inherit" onClick={toggle} aria-label={`Switch to ${next} theme`} data-testid="theme-toggle">
        {mode === 'dark' ? <WhiteBalanceSunnyIcon /> : <WeatherNightIcon />}
      </IconButton>
    </Tooltip>
  );
}

export function Layout() {
  return (
    <Box sx={{ display: 'flex', flexDirection: 'column', height: '100vh' }}>
      <AppBar position="static" elevation={0}>
        <Toolbar variant="dense" sx={{ gap: 1 }}>
          <Typography
            component={RouterLink}
            to="/"
            variant="h6"
            sx={{ color: 'inherit', textDecoration: 'none', fontWeight: 700, mr: 2 }}
          >
            Pharos
          </Typography>
          <Button color="inherit" component={RouterLink} to="/">
            Projects
          </Button>
          <Button color="inherit" component={RouterLink} to="/admin/datasources">
            Global datasources
          </Button>
          <Button color="inherit" component={RouterLink} to="/import">
            Import
          </Button>
          <Box sx={{ flexGrow: 1 }} />
          <ThemeToggle />
        </Toolbar>
      </AppBar>
      <Box component="main" sx={{ flex: 1, minHeight: 0, overflow: 'auto', display: 'flex', flexDirection: 'column' }}>
        <Suspense fallback={<PageLoading />}>
          <Outlet />
        </Suspense>
      </Box>
    </Box>
  );
}

/** A centered, width-limited page body with a title row. */
export function Page({ title, actions, children }: { title: ReactNode; actions?: ReactNode; children: ReactNode }) {
  return (
    <Box sx={{ width: '100%', maxWidth: 1200, mx: 'auto', p: 3 }}>
      <Box sx={{ display: 'flex', alignItems: 'center', gap: 1, mb: 2, flexWrap: 'wrap' }}>
        <Typography variant="h5" component="h1" sx={{ flexGrow: 1 }}>
          {title}
        </Typography>
        {actions}
      </Box>
      {children}
    </Box>
  );
}
