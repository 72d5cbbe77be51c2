// "Add to dashboard" from Explore: the user picks a project they may edit dashboards in, then one
// of its dashboards or a new one, and a panel title. The query becomes a TimeSeriesChart panel
// appended at the bottom of the dashboard (read with its ETag, written back with If-Match; a
// dashboard changed meanwhile is read again and the panel appended to the new version), or the
// first panel of a new dashboard. The server's refusals are shown as they are.
import { useEffect, useMemo, useState } from 'react';
import { Link as RouterLink } from 'react-router-dom';
import Alert from '@mui/material/Alert';
import Button from '@mui/material/Button';
import Dialog from '@mui/material/Dialog';
import DialogActions from '@mui/material/DialogActions';
import DialogContent from '@mui/material/DialogContent';
import DialogTitle from '@mui/material/DialogTitle';
import Link from '@mui/material/Link';
import MenuItem from '@mui/material/MenuItem';
import Stack from '@mui/material/Stack';
import TextField from '@mui/material/TextField';
import Typography from '@mui/material/Typography';
import type { DashboardResource } from '@perses-dev/core';
import { ApiError } from '../api/http';
import { createDashboard, getDashboard, listDashboards, updateDashboard, type ProjectResource } from '../api/resources';
import { useLoad } from '../api/useLoad';
import { useAccount } from '../components/Account';
import { dashboardUrl } from '../components/Breadcrumbs';
import { ErrorNotice } from '../components/ErrorNotice';
import { appendPanel, dashboardWith, explorePanel, nameFromTitle, titleFor } from './dashboardPanel';
import type { DatasourceChoice } from './datasources';

const NEW = '__new__';

/** The project the last panel went to: offered first the next time (while the app runs). */
let lastProject: string | undefined;

interface Added {
  project: string;
  dashboard: string;
  title: string;
  created: boolean;
}

/**
 * Appends the panel to the stored dashboard, one more try when someone saved in between; resolves
 * with the dashboard's title.
 */
async function appendToStored(project: string, name: string, panel: ReturnType<typeof explorePanel>): Promise<string> {
  for (let attempt = 0; ; attempt++) {
    const stored = await getDashboard(project, name);
    const { dashboard } = appendPanel(stored.body, panel);
    try {
      await updateDashboard(project, name, dashboard, stored.etag);
      return stored.body.spec.display?.name || name;
    } catch (error) {
      if (!(error instanceof ApiError && error.isConflict) || attempt > 0) throw error;
    }
  }
}

export function AddToDashboardDialog({
  open,
  onClose,
  query,
  datasource,
  project: exploreProject,
  projects,
}: {
  open: boolean;
  onClose: () => void;
  query: string;
  datasource: DatasourceChoice;
  /** The project Explore runs in (preselected). */
  project?: string;
  projects: ProjectResource[];
}) {
  const { can } = useAccount();
  const editable = useMemo(
    () =>
      projects
        .map((p) => p.metadata.name)
        .filter((p) => can('update', 'Dashboard', p) || can('create', 'Dashboard', p)),
    [projects, can],
  );
  const [project, setProject] = useState('');
  const [target, setTarget] = useState('');
  const [newTitle, setNewTitle] = useState('');
  const [title, setTitle] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>();
  const [added, setAdded] = useState<Added>();

  // Every opening starts from the current query and project.
  useEffect(() => {
    if (!open) return;
    const preferred = [exploreProject, lastProject].find((p) => p !== undefined && editable.includes(p));
    setProject(preferred ?? editable[0] ?? '');
    setTarget('');
    setNewTitle('');
    setTitle(titleFor(query));
    setError(undefined);
    setAdded(undefined);
  }, [open, exploreProject, editable, query]);

  const dashboards = useLoad<DashboardResource[]>(
    () => (project ? listDashboards(project) : Promise.resolve([])),
    `${open}/${project}`,
  );
  const mayUpdate = project !== '' && can('update', 'Dashboard', project);
  const mayCreate = project !== '' && can('create', 'Dashboard', project);
  const sorted = useMemo(
    () => [...(dashboards.data ?? [])].sort((a, b) => a.metadata.name.localeCompare(b.metadata.name)),
    [dashboards.data],
  );
  // A project datasource exists only in its project: from another project the panel finds none.
  const elsewhere = datasource.scope === 'project' && project !== '' && project !== exploreProject;
  const newName = nameFromTitle(newTitle);
  const ready = project !== '' && title.trim() !== '' && (target === NEW ? newName !== '' : target !== '');

  const submit = async () => {
    setBusy(true);
    setError(undefined);
    const panel = explorePanel(title.trim(), query, datasource.name);
    lastProject = project;
    try {
      if (target === NEW) {
        await createDashboard(project, dashboardWith(project, newName, newTitle.trim(), panel));
        setAdded({ project, dashboard: newName, title: newTitle.trim(), created: true });
      } else {
        const shown = await appendToStored(project, target, panel);
        setAdded({ project, dashboard: target, title: shown, created: false });
      }
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  };

  return (
    <Dialog open={open} onClose={onClose} fullWidth maxWidth="sm" aria-labelledby="add-to-dashboard-title">
      <DialogTitle id="add-to-dashboard-title">Add to dashboard</DialogTitle>
      <DialogContent>
        {added ? (
          <Alert severity="success" data-testid="add-to-dashboard-done">
            {added.created ? 'Created dashboard' : 'Added the panel to'}{' '}
            <Link component={RouterLink} to={dashboardUrl(added.project, added.dashboard)} onClick={onClose}>
              {added.title}
            </Link>{' '}
            in project {added.project}.
          </Alert>
        ) : (
          <Stack spacing={2} sx={{ pt: 1 }}>
            <Typography variant="body2" color="text.secondary" sx={{ fontFamily: 'monospace', wordBreak: 'break-all' }}>
              {query}
            </Typography>
            {editable.length === 0 ? (
              <Alert severity="info">You may not edit dashboards in any project.</Alert>
            ) : null}
            <TextField
              select
              label="Project"
              value={project}
              onChange={(e) => {
                setProject(e.target.value);
                setTarget('');
              }}
              disabled={editable.length === 0}
            >
              {editable.map((p) => (
                <MenuItem key={p} value={p}>
                  {p}
                </MenuItem>
              ))}
            </TextField>
            <TextField
              select
              label="Dashboard"
              value={target}
              onChange={(e) => setTarget(e.target.value)}
              disabled={project === '' || dashboards.loading}
              helperText={dashboards.loading ? 'Loading the dashboards…' : undefined}
            >
              {mayCreate ? <MenuItem value={NEW}>New dashboard…</MenuItem> : null}
              {mayUpdate
                ? sorted.map((d) => (
                    // The list has names only (no specs: it stays fast for large projects).
                    <MenuItem key={d.metadata.name} value={d.metadata.name}>
                      {d.metadata.name}
                    </MenuItem>
                  ))
                : null}
            </TextField>
            {target === NEW ? (
              <TextField
                label="New dashboard title"
                value={newTitle}
                onChange={(e) => setNewTitle(e.target.value)}
                helperText={newName ? `Saved as “${newName}”` : 'Letters, digits, “-”, “_” and “.” make its name'}
                autoFocus
              />
            ) : null}
            <TextField label="Panel title" value={title} onChange={(e) => setTitle(e.target.value)} />
            {elsewhere ? (
              <Alert severity="warning">
                “{datasource.name}” is a datasource of project {exploreProject}: the panel finds it only if project {project} has
                a datasource of that name.
              </Alert>
            ) : null}
            <ErrorNotice error={dashboards.error} />
            <ErrorNotice error={error} />
          </Stack>
        )}
      </DialogContent>
      <DialogActions>
        <Button onClick={onClose}>{added ? 'Close' : 'Cancel'}</Button>
        {added ? null : (
          <Button variant="contained" onClick={() => void submit()} disabled={!ready || busy} data-testid="add-to-dashboard-submit">
            Add panel
          </Button>
        )}
      </DialogActions>
    </Dialog>
  );
}
