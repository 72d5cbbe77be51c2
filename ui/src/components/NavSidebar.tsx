// The one navigation of the UI (docs/design UI.md, "Navigation"): a left sidebar with the sections
// that exist today (Home, Dashboards with projects, templates and import, Explore, Admin), the entry of the page being viewed
// highlighted. It collapses to icons (with their names as tooltips); the choice is remembered in
// this browser's localStorage. Entries the user may not read are left out (the audit log, the
// global datasources), and
// sections of later waves (Services, Assistant) appear only with their pages. The Fleet section
// (overview, clusters, alerts, GPUs) shows to users who may read `Cluster`.
import { useCallback, useState, type ReactElement } from 'react';
import { Link as RouterLink, useLocation } from 'react-router-dom';
import Box from '@mui/material/Box';
import Divider from '@mui/material/Divider';
import List from '@mui/material/List';
import ListItemButton from '@mui/material/ListItemButton';
import ListItemIcon from '@mui/material/ListItemIcon';
import ListItemText from '@mui/material/ListItemText';
import ListSubheader from '@mui/material/ListSubheader';
import Tooltip from '@mui/material/Tooltip';
// Named imports from the ESM index: the per-icon files are CommonJS.
import {
  BellOutline as BellOutlineIcon,
  CogOutline as CogOutlineIcon,
  ExpansionCardVariant as ExpansionCardVariantIcon,
  ViewGridOutline as ViewGridOutlineIcon,
  CompassOutline as CompassOutlineIcon,
  ServerNetwork as ServerNetworkIcon,
  Speedometer as SpeedometerIcon,
  RobotOutline as RobotOutlineIcon,
  DatabaseOutline as DatabaseOutlineIcon,
  FileImportOutline as FileImportOutlineIcon,
  FolderOutline as FolderOutlineIcon,
  History as HistoryIcon,
  HomeOutline as HomeOutlineIcon,
  ViewDashboardVariantOutline as ViewDashboardVariantOutlineIcon,
} from 'mdi-material-ui';
import { useAccount } from './Account';

const STORAGE_KEY = 'pharos.sidebarCollapsed';

export const SIDEBAR_WIDTH = 224;
export const SIDEBAR_COLLAPSED_WIDTH = 56;

function storedCollapsed(): boolean {
  try {
    return window.localStorage.getItem(STORAGE_KEY) === 'true';
  } catch {
    // Storage can be disabled (privacy settings): the sidebar starts open.
    return false;
  }
}

/** Whether the sidebar is collapsed, and a toggle that remembers the choice in this browser. */
export function useSidebarCollapsed(): [boolean, () => void] {
  const [collapsed, setCollapsed] = useState(storedCollapsed);
  const toggle = useCallback(() => {
    setCollapsed((previous) => {
      const next = !previous;
      try {
        window.localStorage.setItem(STORAGE_KEY, String(next));
      } catch {
        // See storedCollapsed: not remembering is acceptable.
      }
      return next;
    });
  }, []);
  return [collapsed, toggle];
}

interface Entry {
  label: string;
  to: string;
  icon: ReactElement;
  /** Whether the page at `pathname` belongs to this entry. */
  active: (pathname: string) => boolean;
  testId: string;
}

interface Section {
  /** Absent for the top entries (Home, Explore). */
  title?: string;
  entries: Entry[];
}

const under = (prefix: string) => (pathname: string) => pathname === prefix || pathname.startsWith(`${prefix}/`);

function sections(may: { readAudit: boolean; readGlobalDatasources: boolean; readFleet: boolean }): Section[] {
  return [
    {
      entries: [
        // The projects list for now; the fleet overview takes its place when it exists.
        { label: 'Home', to: '/', icon: <HomeOutlineIcon />, active: (p) => p === '/', testId: 'nav-home' },
      ],
    },
    {
      title: 'Dashboards',
      entries: [
        { label: 'Projects', to: '/', icon: <FolderOutlineIcon />, active: under('/projects'), testId: 'nav-projects' },
        {
          label: 'Templates',
          to: '/templates',
          icon: <ViewDashboardVariantOutlineIcon />,
          active: under('/templates'),
          testId: 'nav-templates',
        },
        { label: 'Import', to: '/import', icon: <FileImportOutlineIcon />, active: under('/import'), testId: 'nav-import' },
      ],
    },
    {
      entries: [{ label: 'Explore', to: '/explore', icon: <CompassOutlineIcon />, active: under('/explore'), testId: 'nav-explore' }],
    },
    {
      entries: [{ label: 'Services', to: '/services', icon: <SpeedometerIcon />, active: under('/services'), testId: 'nav-services' }],
    },
    {
      entries: [{ label: 'Assistant', to: '/assistant', icon: <RobotOutlineIcon />, active: under('/assistant'), testId: 'nav-assistant' }],
    },
    ...(may.readFleet
      ? [
          {
            title: 'Fleet',
            entries: [
              { label: 'Overview', to: '/fleet', icon: <ViewGridOutlineIcon />, active: (p: string) => p === '/fleet', testId: 'nav-fleet' },
              { label: 'Clusters', to: '/fleet/clusters', icon: <ServerNetworkIcon />, active: under('/fleet/clusters'), testId: 'nav-clusters' },
              { label: 'Alerts', to: '/fleet/alerts', icon: <BellOutlineIcon />, active: under('/fleet/alerts'), testId: 'nav-fleet-alerts' },
              { label: 'GPUs', to: '/fleet/gpus', icon: <ExpansionCardVariantIcon />, active: under('/fleet/gpus'), testId: 'nav-gpus' },
            ],
          },
        ]
      : []),
    {
      title: 'Admin',
      entries: [
        ...(may.readGlobalDatasources
          ? [
              {
                label: 'Global datasources',
                to: '/admin/datasources',
                icon: <DatabaseOutlineIcon />,
                active: under('/admin/datasources'),
                testId: 'nav-datasources',
              },
            ]
          : []),
        ...(may.readAudit
          ? [{ label: 'Audit log', to: '/audit', icon: <HistoryIcon />, active: under('/audit'), testId: 'nav-audit' }]
          : []),
        { label: 'Preferences', to: '/preferences', icon: <CogOutlineIcon />, active: under('/preferences'), testId: 'nav-preferences' },
      ],
    },
  ];
}

function NavEntry({ entry, collapsed, selected }: { entry: Entry; collapsed: boolean; selected: boolean }) {
  const button = (
    <ListItemButton
      component={RouterLink}
      to={entry.to}
      selected={selected}
      aria-current={selected ? 'page' : undefined}
      aria-label={collapsed ? entry.label : undefined}
      data-testid={entry.testId}
      sx={{
        minHeight: 40,
        px: 2,
        borderRadius: 1,
        mx: 0.5,
        justifyContent: collapsed ? 'center' : 'flex-start',
        // The selected entry: a tint of the primary color and a bar on its left, in both themes.
        '&.Mui-selected': { boxShadow: (theme) => `inset 3px 0 0 ${theme.palette.primary.main}` },
        '&.Mui-selected .MuiListItemIcon-root': { color: 'primary.main' },
      }}
    >
      <ListItemIcon sx={{ minWidth: collapsed ? 0 : 36, justifyContent: 'center' }}>{entry.icon}</ListItemIcon>
      {collapsed ? null : <ListItemText primary={entry.label} primaryTypographyProps={{ noWrap: true, fontSize: '0.9rem' }} />}
    </ListItemButton>
  );
  return collapsed ? (
    <Tooltip title={entry.label} placement="right" disableInteractive>
      {button}
    </Tooltip>
  ) : (
    button
  );
}

/** The sidebar itself; the top bar's menu button collapses and expands it. */
export function NavSidebar({ collapsed }: { collapsed: boolean }) {
  const { pathname } = useLocation();
  const { can } = useAccount();
  const all = sections({
    readAudit: can('read', 'AuditLog'),
    readGlobalDatasources: can('read', 'GlobalDatasource'),
    readFleet: can('read', 'Cluster'),
  });
  // One entry is highlighted: the first that claims the page.
  const activeEntry = all.flatMap((s) => s.entries).find((e) => e.active(pathname));
  return (
    <Box
      component="nav"
      aria-label="Main navigation"
      data-testid="sidebar"
      data-collapsed={collapsed ? 'true' : 'false'}
      sx={{
        width: collapsed ? SIDEBAR_COLLAPSED_WIDTH : SIDEBAR_WIDTH,
        flexShrink: 0,
        overflowX: 'hidden',
        overflowY: 'auto',
        borderRight: 1,
        borderColor: 'divider',
        bgcolor: 'background.paper',
        transition: (theme) => theme.transitions.create('width', { duration: theme.transitions.duration.shorter }),
      }}
    >
      {all.map((section, i) => (
        <List
          key={section.title ?? `top-${i}`}
          dense
          disablePadding
          sx={{ py: 0.5 }}
          subheader={
            section.title === undefined ? undefined : collapsed ? (
              <Divider sx={{ my: 0.5 }} />
            ) : (
              <ListSubheader
                disableSticky
                sx={{ bgcolor: 'transparent', lineHeight: '32px', textTransform: 'uppercase', fontSize: '0.7rem', letterSpacing: 1 }}
              >
                {section.title}
              </ListSubheader>
            )
          }
        >
          {section.entries.map((entry) => (
            <NavEntry key={entry.testId} entry={entry} collapsed={collapsed} selected={entry === activeEntry} />
          ))}
        </List>
      ))}
    </Box>
  );
}
