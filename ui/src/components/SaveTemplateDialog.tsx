// "Save as template…" on the dashboard page (docs/user/templates.md, "Saving your own templates"):
// the stored dashboard becomes a template of its project, or of every project for users allowed to
// create global templates. The server validates it like a dashboard; its refusals are shown as it
// words them (409: the template name is taken).
import { useState } from 'react';
import { Link as RouterLink } from 'react-router-dom';
import Alert from '@mui/material/Alert';
import Button from '@mui/material/Button';
import Dialog from '@mui/material/Dialog';
import DialogActions from '@mui/material/DialogActions';
import DialogContent from '@mui/material/DialogContent';
import DialogTitle from '@mui/material/DialogTitle';
import MenuItem from '@mui/material/MenuItem';
import TextField from '@mui/material/TextField';
import { ViewDashboardOutline as TemplateIcon } from 'mdi-material-ui';
import { ApiError } from '../api/http';
import { getDashboard } from '../api/resources';
import { TEMPLATE_CATEGORIES, saveAsTemplate } from '../api/templates';
import { useAccount } from './Account';
import { ErrorNotice } from './ErrorNotice';

/** Resource names: lowercase letters, digits, `-` and `_`, up to 75 characters. */
const NAME = /^[a-zA-Z0-9_.-]{1,75}$/;

function SaveTemplateDialog({ project, dashboard, global, onClose }: { project: string; dashboard: string; global: boolean; onClose: () => void }) {
  const [name, setName] = useState(`${dashboard}-template`.slice(0, 75));
  const [title, setTitle] = useState('');
  const [description, setDescription] = useState('');
  const [category, setCategory] = useState('custom');
  const [scope, setScope] = useState<'project' | 'global'>('project');
  const [error, setError] = useState<unknown>();
  const [busy, setBusy] = useState(false);
  const [saved, setSaved] = useState(false);
  const nameProblem = NAME.test(name) ? undefined : 'letters, digits, “-”, “_” or “.”, at most 75';

  const submit = async () => {
    setBusy(true);
    setError(undefined);
    try {
      const stored = (await getDashboard(project, dashboard)).body;
      const display = { name: title.trim() || stored.spec.display?.name || dashboard, description: description.trim() };
      await saveAsTemplate(scope === 'global' ? 'global' : { project }, name, display, category, stored);
      setSaved(true);
    } catch (e) {
      setError(e instanceof ApiError && e.status === 409 ? new Error(`A template named “${name}” exists already: choose another name. (${e.message})`) : e);
    }
    setBusy(false);
  };

  return (
    <Dialog open onClose={onClose} fullWidth maxWidth="sm" aria-labelledby="template-dialog-title">
      <DialogTitle id="template-dialog-title">Save as template</DialogTitle>
      <DialogContent>
        {saved ? (
          <Alert severity="success" data-testid="template-saved">
            Saved. It is in the{' '}
            <RouterLink to={`/templates?project=${encodeURIComponent(project)}`}>template gallery</RouterLink>, ready to make new
            dashboards from.
          </Alert>
        ) : (
          <>
            <TextField
              autoFocus
              fullWidth
              margin="dense"
              label="Template name"
              value={name}
              onChange={(e) => setName(e.target.value)}
              error={nameProblem !== undefined}
              helperText={nameProblem ?? 'Its identifier (in addresses and the API)'}
              inputProps={{ 'data-testid': 'template-save-name' }}
            />
            <TextField
              fullWidth
              margin="dense"
              label="Title"
              value={title}
              onChange={(e) => setTitle(e.target.value)}
              helperText="What the gallery shows; the dashboard's own title when empty"
              inputProps={{ 'data-testid': 'template-save-title' }}
            />
            <TextField
              fullWidth
              margin="dense"
              multiline
              minRows={2}
              label="Description"
              value={description}
              onChange={(e) => setDescription(e.target.value)}
            />
            <TextField select fullWidth margin="dense" label="Category" value={category} onChange={(e) => setCategory(e.target.value)}>
              {TEMPLATE_CATEGORIES.map((c) => (
                <MenuItem key={c.id} value={c.id}>
                  {c.label}
                </MenuItem>
              ))}
            </TextField>
            <TextField
              select
              fullWidth
              margin="dense"
              label="For"
              value={scope}
              onChange={(e) => setScope(e.target.value as 'project' | 'global')}
              inputProps={{ 'data-testid': 'template-save-scope' }}
            >
              <MenuItem value="project">Project “{project}”</MenuItem>
              {global ? <MenuItem value="global">Every project</MenuItem> : null}
            </TextField>
            <ErrorNotice error={error} title="Not saved" />
          </>
        )}
      </DialogContent>
      <DialogActions>
        <Button onClick={onClose}>{saved ? 'Close' : 'Cancel'}</Button>
        {saved ? null : (
          <Button variant="contained" onClick={() => void submit()} disabled={busy || nameProblem !== undefined} data-testid="template-save-submit">
            Save template
          </Button>
        )}
      </DialogActions>
    </Dialog>
  );
}

/** "Save as template…", offered to users who may save templates in the project. */
export function SaveTemplateButton({ project, dashboard }: { project: string; dashboard: string }) {
  const { can } = useAccount();
  const [open, setOpen] = useState(false);
  if (!can('create', 'Template', project)) return null;
  return (
    <>
      <Button
        variant="outlined"
        size="small"
        startIcon={<TemplateIcon />}
        onClick={() => setOpen(true)}
        data-testid="save-template-button"
        sx={{ whiteSpace: 'nowrap', ml: 1 }}
      >
        Save as template…
      </Button>
      {open ? <SaveTemplateDialog project={project} dashboard={dashboard} global={can('create', 'GlobalTemplate')} onClose={() => setOpen(false)} /> : null}
    </>
  );
}
