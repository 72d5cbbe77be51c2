// The start page: every project, and a dialog to create one.
import { useState } from 'react';
import { Link as RouterLink, useNavigate } from 'react-router-dom';
import Button from '@mui/material/Button';
import Chip from '@mui/material/Chip';
import Dialog from '@mui/material/Dialog';
import DialogActions from '@mui/material/DialogActions';
import DialogContent from '@mui/material/DialogContent';
import DialogTitle from '@mui/material/DialogTitle';
import Link from '@mui/material/Link';
import Stack from '@mui/material/Stack';
import Table from '@mui/material/Table';
import TableBody from '@mui/material/TableBody';
import TableCell from '@mui/material/TableCell';
import TableHead from '@mui/material/TableHead';
import TableRow from '@mui/material/TableRow';
import TextField from '@mui/material/TextField';
import Typography from '@mui/material/Typography';
import { createProject, listProjects } from '../api/resources';
import { useLoad } from '../api/useLoad';
import { ErrorNotice } from '../components/ErrorNotice';
import { Page, PageLoading } from '../components/Layout';

function CreateProjectDialog({ open, onClose }: { open: boolean; onClose: () => void }) {
  const navigate = useNavigate();
  const [name, setName] = useState('');
  const [namespaces, setNamespaces] = useState('');
  const [error, setError] = useState<unknown>();
  const [busy, setBusy] = useState(false);

  const submit = async () => {
    setBusy(true);
    setError(undefined);
    try {
      const list = namespaces
        .split(',')
        .map((n) => n.trim())
        .filter(Boolean);
      await createProject({
        kind: 'Project',
        metadata: { name: name.trim() },
        spec: list.length > 0 ? { namespaces: list } : {},
      });
      navigate(`/projects/${encodeURIComponent(name.trim())}`);
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  };

  return (
    <Dialog open={open} onClose={onClose} fullWidth maxWidth="sm">
      <DialogTitle>New project</DialogTitle>
      <DialogContent>
        <ErrorNotice error={error} />
        <TextField
          autoFocus
          fullWidth
          margin="dense"
          label="Name"
          value={name}
          onChange={(e) => setName(e.target.value)}
          helperText="Letters, digits, '-', '_' and '.'"
        />
        <TextField
          fullWidth
          margin="dense"
          label="Namespaces (optional, comma-separated)"
          value={namespaces}
          onChange={(e) => setNamespaces(e.target.value)}
          helperText="Queries from this project only see these values of the tenancy label"
        />
      </DialogContent>
      <DialogActions>
        <Button onClick={onClose}>Cancel</Button>
        <Button variant="contained" onClick={submit} disabled={busy || name.trim() === ''}>
          Create
        </Button>
      </DialogActions>
    </Dialog>
  );
}

export default function ProjectsPage() {
  const projects = useLoad(listProjects, 'projects');
  const [creating, setCreating] = useState(false);

  return (
    <Page
      title="Projects"
      actions={
        <Button variant="contained" onClick={() => setCreating(true)}>
          New project
        </Button>
      }
    >
      <ErrorNotice error={projects.error} onRetry={projects.reload} />
      {projects.loading && !projects.data ? <PageLoading /> : null}
      {projects.data && projects.data.length === 0 ? (
        <Typography color="text.secondary">No projects yet. Create one to add dashboards.</Typography>
      ) : null}
      {projects.data && projects.data.length > 0 ? (
        <Table size="small" aria-label="Projects">
          <TableHead>
            <TableRow>
              <TableCell>Project</TableCell>
              <TableCell>Namespaces</TableCell>
              <TableCell>Updated</TableCell>
            </TableRow>
          </TableHead>
          <TableBody>
            {projects.data.map((p) => (
              <TableRow key={p.metadata.name} hover>
                <TableCell>
                  <Link component={RouterLink} to={`/projects/${encodeURIComponent(p.metadata.name)}`}>
                    {p.spec.display?.name ?? p.metadata.name}
                  </Link>
                </TableCell>
                <TableCell>
                  <Stack direction="row" spacing={0.5}>
                    {(p.spec.namespaces ?? []).map((ns) => (
                      <Chip key={ns} size="small" label={ns} />
                    ))}
                    {(p.spec.namespaces ?? []).length === 0 ? (
                      <Typography variant="body2" color="text.secondary">
                        unrestricted
                      </Typography>
                    ) : null}
                  </Stack>
                </TableCell>
                <TableCell>{p.metadata.updatedAt ? new Date(p.metadata.updatedAt).toLocaleString() : ''}</TableCell>
              </TableRow>
            ))}
          </TableBody>
        </Table>
      ) : null}
      <CreateProjectDialog open={creating} onClose={() => setCreating(false)} />
    </Page>
  );
}
