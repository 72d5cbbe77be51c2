// Dashboards of one project (metadata only): search by name, sort, create, delete to trash.
import { useMemo, useState } from 'react';
import { Link as RouterLink, useNavigate, useParams } from 'react-router-dom';
import Button from '@mui/material/Button';
import Dialog from '@mui/material/Dialog';
import DialogActions from '@mui/material/DialogActions';
import DialogContent from '@mui/material/DialogContent';
import DialogContentText from '@mui/material/DialogContentText';
import DialogTitle from '@mui/material/DialogTitle';
import IconButton from '@mui/material/IconButton';
import InputAdornment from '@mui/material/InputAdornment';
import Link from '@mui/material/Link';
import MenuItem from '@mui/material/MenuItem';
import Stack from '@mui/material/Stack';
import Table from '@mui/material/Table';
import TableBody from '@mui/material/TableBody';
import TableCell from '@mui/material/TableCell';
import TableHead from '@mui/material/TableHead';
import TableRow from '@mui/material/TableRow';
import TextField from '@mui/material/TextField';
import Tooltip from '@mui/material/Tooltip';
import Typography from '@mui/material/Typography';
// Named imports from the ESM index: the per-icon files are CommonJS.
import { DeleteOutline as DeleteOutlineIcon, History as HistoryIcon, Magnify as MagnifyIcon } from 'mdi-material-ui';
import type { DashboardResource } from '@perses-dev/core';
import { createDashboard, deleteDashboard, listDashboards } from '../api/resources';
import { useLoad } from '../api/useLoad';
import { Breadcrumbs, dashboardUrl, projectUrl } from '../components/Breadcrumbs';
import { useAccount } from '../components/Account';
import { ErrorNotice } from '../components/ErrorNotice';
import { Page, PageLoading } from '../components/Layout';

type SortKey = 'name-asc' | 'name-desc' | 'updated-desc' | 'updated-asc';

const SORTS: { key: SortKey; label: string }[] = [
  { key: 'name-asc', label: 'Name A→Z' },
  { key: 'name-desc', label: 'Name Z→A' },
  { key: 'updated-desc', label: 'Recently updated' },
  { key: 'updated-asc', label: 'Least recently updated' },
];

const displayName = (d: DashboardResource) => d.spec?.display?.name || d.metadata.name;

/** Filters by name or display name (case-insensitive) and sorts; exported for reuse in tests. */
export function searchAndSort(items: DashboardResource[], search: string, sort: SortKey): DashboardResource[] {
  const needle = search.trim().toLowerCase();
  const matching = items.filter(
    (d) => needle === '' || d.metadata.name.toLowerCase().includes(needle) || displayName(d).toLowerCase().includes(needle),
  );
  const updated = (d: DashboardResource) => Date.parse(d.metadata.updatedAt ?? '') || 0;
  const compare: Record<SortKey, (a: DashboardResource, b: DashboardResource) => number> = {
    'name-asc': (a, b) => displayName(a).localeCompare(displayName(b)),
    'name-desc': (a, b) => displayName(b).localeCompare(displayName(a)),
    'updated-desc': (a, b) => updated(b) - updated(a),
    'updated-asc': (a, b) => updated(a) - updated(b),
  };
  return [...matching].sort(compare[sort]);
}

/** A new dashboard with no panels yet; the user adds them in edit mode. */
export function blankDashboard(project: string, name: string, title: string, duration = '1h'): DashboardResource {
  return {
    kind: 'Dashboard',
    metadata: { name, project, version: 0 },
    spec: { display: { name: title || name }, duration: duration as DashboardResource['spec']['duration'], variables: [], panels: {}, layouts: [] },
  };
}

function NewDashboardDialog({ project, open, onClose }: { project: string; open: boolean; onClose: () => void }) {
  const navigate = useNavigate();
  // New dashboards start with the user's preferred time range.
  const { preferences } = useAccount();
  const [title, setTitle] = useState('');
  const [name, setName] = useState('');
  const [error, setError] = useState<unknown>();
  const [busy, setBusy] = useState(false);
  // The name defaults to a slug of the title, like Perses.
  const effectiveName = name || title.trim().replace(/[^a-zA-Z0-9_.-]+/g, '-').replace(/^-+|-+$/g, '');

  const submit = async () => {
    setBusy(true);
    setError(undefined);
    try {
      await createDashboard(project, blankDashboard(project, effectiveName, title.trim(), preferences.time_range || undefined));
      navigate(dashboardUrl(project, effectiveName), { state: { edit: true } });
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  };

  return (
    <Dialog open={open} onClose={onClose} fullWidth maxWidth="sm">
      <DialogTitle>New dashboard</DialogTitle>
      <DialogContent>
        <ErrorNotice error={error} />
        <TextField
          autoFocus
          fullWidth
          margin="dense"
          label="Title"
          value={title}
          onChange={(e) => setTitle(e.target.value)}
          inputProps={{ 'data-testid': 'new-dashboard-title' }}
        />
        <TextField
          fullWidth
          margin="dense"
          label="Name (in URLs and the API)"
          value={name}
          placeholder={effectiveName}
          onChange={(e) => setName(e.target.value)}
          helperText="Letters, digits, '-', '_' and '.'; derived from the title when empty"
        />
      </DialogContent>
      <DialogActions>
        <Button onClick={onClose}>Cancel</Button>
        <Button variant="contained" onClick={submit} disabled={busy || effectiveName === ''}>
          Create
        </Button>
      </DialogActions>
    </Dialog>
  );
}

export default function DashboardsPage() {
  const { project = '' } = useParams();
  const { can } = useAccount();
  const dashboards = useLoad(() => listDashboards(project), project);
  const [search, setSearch] = useState('');
  const [sort, setSort] = useState<SortKey>('name-asc');
  const [creating, setCreating] = useState(false);
  const [toDelete, setToDelete] = useState<DashboardResource>();
  const [actionError, setActionError] = useState<unknown>();
  const shown = useMemo(() => searchAndSort(dashboards.data ?? [], search, sort), [dashboards.data, search, sort]);

  const confirmDelete = async () => {
    if (!toDelete) return;
    setActionError(undefined);
    try {
      await deleteDashboard(project, toDelete.metadata.name);
      dashboards.reload();
    } catch (e) {
      setActionError(e);
    } finally {
      setToDelete(undefined);
    }
  };

  return (
    <Page
      title={<Breadcrumbs items={[{ label: 'Projects', to: '/' }, { label: project }]} />}
      actions={
        <Stack direction="row" spacing={1}>
          <Button component={RouterLink} to={`${projectUrl(project)}/datasources`}>
            Datasources
          </Button>
          <Button component={RouterLink} to={`${projectUrl(project)}/trash`}>
            Trash
          </Button>
          {can('read', 'Role', project) ? (
            <Button component={RouterLink} to={`${projectUrl(project)}/roles`}>
              Roles
            </Button>
          ) : null}
          <Button component={RouterLink} to={`/import?project=${encodeURIComponent(project)}`}>
            Import
          </Button>
          <Button variant="contained" onClick={() => setCreating(true)}>
            New dashboard
          </Button>
        </Stack>
      }
    >
      <Stack direction="row" spacing={2} sx={{ mb: 2 }}>
        <TextField
          size="small"
          label="Search by name"
          value={search}
          onChange={(e) => setSearch(e.target.value)}
          InputProps={{
            startAdornment: (
              <InputAdornment position="start">
                <MagnifyIcon fontSize="small" />
              </InputAdornment>
            ),
          }}
        />
        <TextField select size="small" label="Sort" value={sort} onChange={(e) => setSort(e.target.value as SortKey)}>
          {SORTS.map((s) => (
            <MenuItem key={s.key} value={s.key}>
              {s.label}
            </MenuItem>
          ))}
        </TextField>
      </Stack>
      <ErrorNotice error={dashboards.error} onRetry={dashboards.reload} />
      <ErrorNotice error={actionError} onClose={() => setActionError(undefined)} />
      {dashboards.loading && !dashboards.data ? <PageLoading /> : null}
      {dashboards.data && shown.length === 0 ? (
        <Typography color="text.secondary">
          {dashboards.data.length === 0 ? 'No dashboards in this project yet.' : 'No dashboard matches the search.'}
        </Typography>
      ) : null}
      {shown.length > 0 ? (
        <Table size="small" aria-label="Dashboards">
          <TableHead>
            <TableRow>
              <TableCell>Dashboard</TableCell>
              <TableCell>Name</TableCell>
              <TableCell>Version</TableCell>
              <TableCell>Updated</TableCell>
              <TableCell align="right">Actions</TableCell>
            </TableRow>
          </TableHead>
          <TableBody>
            {shown.map((d) => (
              <TableRow key={d.metadata.name} hover>
                <TableCell>
                  <Link component={RouterLink} to={dashboardUrl(project, d.metadata.name)}>
                    {displayName(d)}
                  </Link>
                </TableCell>
                <TableCell>{d.metadata.name}</TableCell>
                <TableCell>{d.metadata.version ?? ''}</TableCell>
                <TableCell>{d.metadata.updatedAt ? new Date(d.metadata.updatedAt).toLocaleString() : ''}</TableCell>
                <TableCell align="right">
                  <Tooltip title="History">
                    <IconButton
                      size="small"
                      component={RouterLink}
                      to={`${dashboardUrl(project, d.metadata.name)}/history`}
                      aria-label={`History of ${d.metadata.name}`}
                    >
                      <HistoryIcon fontSize="small" />
                    </IconButton>
                  </Tooltip>
                  <Tooltip title="Move to trash">
                    <IconButton size="small" onClick={() => setToDelete(d)} aria-label={`Delete ${d.metadata.name}`}>
                      <DeleteOutlineIcon fontSize="small" />
                    </IconButton>
                  </Tooltip>
                </TableCell>
              </TableRow>
            ))}
          </TableBody>
        </Table>
      ) : null}
      <NewDashboardDialog project={project} open={creating} onClose={() => setCreating(false)} />
      <Dialog open={toDelete !== undefined} onClose={() => setToDelete(undefined)}>
        <DialogTitle>Move to trash?</DialogTitle>
        <DialogContent>
          <DialogContentText>
            “{toDelete ? displayName(toDelete) : ''}” goes to the project's trash, where it can be restored until it is
            purged.
          </DialogContentText>
        </DialogContent>
        <DialogActions>
          <Button onClick={() => setToDelete(undefined)}>Cancel</Button>
          <Button color="error" variant="contained" onClick={confirmDelete}>
            Move to trash
          </Button>
        </DialogActions>
      </Dialog>
    </Page>
  );
}
