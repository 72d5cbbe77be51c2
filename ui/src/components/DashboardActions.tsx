// The dashboard page's "Export" (a JSON or YAML file of the stored dashboard, as Perses and
// percli read it) and "Clone…" (a copy under a new name, in this or another project the user may
// create dashboards in; opens the copy).
import { useMemo, useState } from 'react';
import { useNavigate } from 'react-router-dom';
import Button from '@mui/material/Button';
import Dialog from '@mui/material/Dialog';
import DialogActions from '@mui/material/DialogActions';
import DialogContent from '@mui/material/DialogContent';
import DialogTitle from '@mui/material/DialogTitle';
import Menu from '@mui/material/Menu';
import MenuItem from '@mui/material/MenuItem';
import TextField from '@mui/material/TextField';
// Named imports from the ESM index: the per-icon files are CommonJS.
import { ContentCopy as ContentCopyIcon, Download as DownloadIcon } from 'mdi-material-ui';
import { ApiError } from '../api/http';
import { listProjects } from '../api/resources';
import { cloneDashboard, exportDashboard } from '../api/templates';
import { useLoad } from '../api/useLoad';
import { useAccount } from './Account';
import { dashboardUrl } from './Breadcrumbs';
import { ErrorNotice } from './ErrorNotice';

const MAX_NAME = 128;
const buttonSx = { whiteSpace: 'nowrap', ml: 1 };

/** Hands a downloaded file to the browser as if a link to it had been clicked. */
function save(blob: Blob, filename: string) {
  const url = URL.createObjectURL(blob);
  const link = document.createElement('a');
  link.href = url;
  link.download = filename;
  document.body.appendChild(link);
  link.click();
  link.remove();
  // After the click has been handled: revoking at once can cancel the download.
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

export function ExportButton({ project, dashboard }: { project: string; dashboard: string }) {
  const [anchor, setAnchor] = useState<HTMLElement | null>(null);
  const [error, setError] = useState<unknown>();
  const run = async (format: 'json' | 'yaml') => {
    setAnchor(null);
    setError(undefined);
    try {
      const file = await exportDashboard(project, dashboard, format);
      save(file.blob, file.filename ?? `${project}-${dashboard}.${format}`);
    } catch (e) {
      setError(e);
    }
  };
  return (
    <>
      <Button
        variant="outlined"
        size="small"
        startIcon={<DownloadIcon />}
        onClick={(event) => setAnchor(event.currentTarget)}
        aria-haspopup="menu"
        aria-expanded={anchor !== null}
        data-testid="export-button"
        sx={buttonSx}
      >
        Export
      </Button>
      <Menu anchorEl={anchor} open={anchor !== null} onClose={() => setAnchor(null)}>
        <MenuItem onClick={() => void run('json')} data-testid="export-json">
          JSON file
        </MenuItem>
        <MenuItem onClick={() => void run('yaml')} data-testid="export-yaml">
          YAML file
        </MenuItem>
      </Menu>
      {error ? (
        <Dialog open onClose={() => setError(undefined)}>
          <DialogTitle>Export failed</DialogTitle>
          <DialogContent>
            <ErrorNotice error={error} />
          </DialogContent>
          <DialogActions>
            <Button onClick={() => setError(undefined)}>Close</Button>
          </DialogActions>
        </Dialog>
      ) : null}
    </>
  );
}

/** The projects the user may create dashboards in (undefined while loading). */
function usePermittedProjects(): { projects: string[] | undefined; error: unknown } {
  const { can } = useAccount();
  const listed = useLoad(listProjects, 'projects');
  const projects = useMemo(
    () => listed.data?.map((p) => p.metadata.name).filter((p) => can('create', 'Dashboard', p)),
    [listed.data, can],
  );
  return { projects, error: listed.error };
}

function CloneDialog({ project, dashboard, targets, onClose }: { project: string; dashboard: string; targets: string[]; onClose: () => void }) {
  const navigate = useNavigate();
  const [target, setTarget] = useState(targets.includes(project) ? project : (targets[0] ?? ''));
  const [name, setName] = useState(`${dashboard}-copy`.slice(0, MAX_NAME));
  const [error, setError] = useState<unknown>();
  const [busy, setBusy] = useState(false);
  const trimmed = name.trim();
  const nameProblem = trimmed.length === 0 || trimmed.length > MAX_NAME ? `1 to ${MAX_NAME} characters` : undefined;

  const submit = async () => {
    setBusy(true);
    setError(undefined);
    try {
      const copy = await cloneDashboard(project, dashboard, trimmed, target);
      onClose();
      navigate(dashboardUrl(target, copy.metadata.name));
    } catch (e) {
      setError(
        e instanceof ApiError && e.status === 409
          ? new Error(`Project “${target}” already has a dashboard named “${trimmed}”: choose another name. (${e.message})`)
          : e,
      );
      setBusy(false);
    }
  };

  return (
    <Dialog open onClose={onClose} fullWidth maxWidth="sm" aria-labelledby="clone-dialog-title">
      <DialogTitle id="clone-dialog-title">Clone this dashboard</DialogTitle>
      <DialogContent>
        <TextField
          select
          fullWidth
          margin="dense"
          label="Into project"
          value={target}
          onChange={(e) => setTarget(e.target.value)}
          inputProps={{ 'data-testid': 'clone-project' }}
        >
          {targets.map((p) => (
            <MenuItem key={p} value={p}>
              {p}
            </MenuItem>
          ))}
        </TextField>
        <TextField
          autoFocus
          fullWidth
          margin="dense"
          label="Name of the copy"
          value={name}
          onChange={(e) => setName(e.target.value)}
          error={nameProblem !== undefined}
          helperText={nameProblem ?? 'The copy starts with this dashboard as it is stored now, without its history'}
          inputProps={{ 'data-testid': 'clone-name' }}
        />
        <ErrorNotice error={error} title="Not cloned" />
      </DialogContent>
      <DialogActions>
        <Button onClick={onClose}>Cancel</Button>
        <Button
          variant="contained"
          onClick={() => void submit()}
          disabled={busy || target === '' || nameProblem !== undefined}
          data-testid="clone-submit"
        >
          Clone
        </Button>
      </DialogActions>
    </Dialog>
  );
}

/** "Clone…", offered when the user may create dashboards in at least one project. */
export function CloneButton({ project, dashboard }: { project: string; dashboard: string }) {
  const { projects } = usePermittedProjects();
  const [open, setOpen] = useState(false);
  if (!projects || projects.length === 0) return null;
  return (
    <>
      <Button
        variant="outlined"
        size="small"
        startIcon={<ContentCopyIcon />}
        onClick={() => setOpen(true)}
        data-testid="clone-button"
        sx={buttonSx}
      >
        Clone…
      </Button>
      {open ? <CloneDialog project={project} dashboard={dashboard} targets={projects} onClose={() => setOpen(false)} /> : null}
    </>
  );
}
