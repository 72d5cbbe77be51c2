// The application frame: a top bar (the sidebar's collapse button, the product name, the theme
// toggle and the user's menu with preferences, the audit log and "Log out" when the server asks for
// logins), the left sidebar with the one navigation (NavSidebar.tsx) and the page.
import { Suspense, useState, type MouseEvent, type ReactNode } from 'react';
import { Link as RouterLink, Outlet } from 'react-router-dom';
import AppBar from '@mui/material/AppBar';
import Box from '@mui/material/Box';
import Button from '@mui/material/Button';
import CircularProgress from '@mui/material/CircularProgress';
import IconButton from '@mui/material/IconButton';
import ListItemIcon from '@mui/material/ListItemIcon';
import Menu from '@mui/material/Menu';
import MenuItem from '@mui/material/MenuItem';
import Toolbar from '@mui/material/Toolbar';
import Tooltip from '@mui/material/Tooltip';
import Typography from '@mui/material/Typography';
// Named imports from the ESM index: the per-icon files are CommonJS.
import {
  AccountCircle as AccountCircleIcon,
  CogOutline as CogOutlineIcon,
  History as HistoryIcon,
  Logout as LogoutIcon,
  Menu as MenuIcon,
  WeatherNight as WeatherNightIcon,
  WhiteBalanceSunny as WhiteBalanceSunnyIcon,
} from 'mdi-material-ui';
import { LOGOUT_PATH } from '../api/auth';
import { hasFreshAccessToken, renewAccessToken } from '../api/session';
import { useColorMode } from '../theme/colorMode';
import { AccountProvider, useAccount } from './Account';
import { NavSidebar, useSidebarCollapsed } from './NavSidebar';
import { useSession } from './Session';

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
    // Not interactive: the hint must not catch the clicks meant for the toolbar below it.
    <Tooltip title={hint} disableInteractive>
      <IconButton color="inherit" onClick={toggle} aria-label={`Switch to ${next} theme`} data-testid="theme-toggle">
        {mode === 'dark' ? <WhiteBalanceSunnyIcon /> : <WeatherNightIcon />}
      </IconButton>
    </Tooltip>
  );
}

/**
 * The logged-in user's name, opening a menu with "Preferences", "Audit log" (for those who may
 * read it) and "Log out" (absent when auth is off).
 */
function UserMenu() {
  const { user } = useSession();
  const { can } = useAccount();
  const [anchor, setAnchor] = useState<HTMLElement | null>(null);
  if (!user) return null;
  const name = user.metadata.name;
  const logOut = (event: MouseEvent) => {
    event.preventDefault();
    setAnchor(null);
    void (hasFreshAccessToken() ? Promise.resolve(true) : renewAccessToken()).then(() => window.location.assign(LOGOUT_PATH));
  };
  return (
    <>
      <Button
        color="inherit"
        startIcon={<AccountCircleIcon />}
        onClick={(event) => setAnchor(event.currentTarget)}
        aria-haspopup="menu"
        aria-expanded={anchor !== null}
        aria-controls={anchor ? 'user-menu' : undefined}
        data-testid="user-menu"
        sx={{ textTransform: 'none' }}
      >
        {name}
      </Button>
      <Menu
        id="user-menu"
        anchorEl={anchor}
        open={anchor !== null}
        onClose={() => setAnchor(null)}
        anchorOrigin={{ vertical: 'bottom', horizontal: 'right' }}
        transformOrigin={{ vertical: 'top', horizontal: 'right' }}
      >
        <MenuItem component={RouterLink} to="/preferences" onClick={() => setAnchor(null)}>
          <ListItemIcon>
            <CogOutlineIcon fontSize="small" />
          </ListItemIcon>
          Preferences
        </MenuItem>
        {can('read', 'AuditLog') ? (
          <MenuItem component={RouterLink} to="/audit" onClick={() => setAnchor(null)}>
            <ListItemIcon>
              <HistoryIcon fontSize="small" />
            </ListItemIcon>
            Audit log
          </MenuItem>
        ) : null}
        {/* The server ends the session, clears the cookies and redirects to "/". It needs a live
            access token, so an expired one is renewed first. */}
        <MenuItem component="a" href={LOGOUT_PATH} onClick={logOut}>
          <ListItemIcon>
            <LogoutIcon fontSize="small" />
          </ListItemIcon>
          Log out
        </MenuItem>
      </Menu>
    </>
  );
}

export function Layout() {
  return (
    <AccountProvider>
      <Frame />
    </AccountProvider>
  );
}

function Frame() {
  const [collapsed, toggleCollapsed] = useSidebarCollapsed();
  return (
    <Box sx={{ display: 'flex', flexDirection: 'column', height: '100vh' }}>
      <AppBar position="static" elevation={0}>
        <Toolbar variant="dense" sx={{ gap: 1 }}>
          <Tooltip title={collapsed ? 'Expand the menu' : 'Collapse the menu'} disableInteractive>
            <IconButton
              color="inherit"
              edge="start"
              onClick={toggleCollapsed}
              aria-label={collapsed ? 'Expand the menu' : 'Collapse the menu'}
              aria-expanded={!collapsed}
              data-testid="sidebar-toggle"
            >
              <MenuIcon />
            </IconButton>
          </Tooltip>
          <Typography
            component={RouterLink}
            to="/"
            variant="h6"
            sx={{ color: 'inherit', textDecoration: 'none', fontWeight: 700, mr: 2 }}
          >
            Pharos
          </Typography>
          <Box sx={{ flexGrow: 1 }} />
          <ThemeToggle />
          <UserMenu />
        </Toolbar>
      </AppBar>
      <Box sx={{ flex: 1, minHeight: 0, display: 'flex' }}>
        <NavSidebar collapsed={collapsed} />
        <Box
          component="main"
          sx={{ flex: 1, minWidth: 0, minHeight: 0, overflow: 'auto', display: 'flex', flexDirection: 'column' }}
        >
          <Suspense fallback={<PageLoading />}>
            <Outlet />
          </Suspense>
        </Box>
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
