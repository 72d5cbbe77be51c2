// Import a Perses dashboard from a JSON or YAML file (or pasted text) into a project.
import { useState, type ChangeEvent } from 'react';
import { useNavigate, useSearchParams } from 'react-router-dom';
import Alert from '@mui/material/Alert';
import Box from '@mui/material/Box';
import Button from '@mui/material/Button';
import MenuItem from '@mui/material/MenuItem';
import Stack from '@mui/material/Stack';
import TextField from '@mui/material/TextField';
import Typography from '@mui/material/Typography';
import type { DashboardResource } from '@perses-dev/core';
import { createDashboard, listProjects } from '../api/resources';
import { useLoad } from '../api/useLoad';
import { dashboardUrl } from '../components/Breadcrumbs';
import { ErrorNotice } from '../components/ErrorNotice';
import { Page } from '../components/Layout';
import { ImportProblem, parseDashboard, prepareForImport } from './importing';

export default function ImportPage() {
  const navigate = useNavigate();
  const [params] = useSearchParams();
  const projects = useLoad(listProjects, 'projects');
  const [project, setProject] = useState(params.get('project') ?? '');
  const [text, setText] = useState('');
  const [parsed, setParsed] = useState<DashboardResource>();
  const [name, setName] = useState('');
  const [error, setError] = useState<unknown>();
  const [busy, setBusy] = useState(false);

  const takeText = (content: string) => {
    setText(content);
    setError(undefined);
    setParsed(undefined);
    if (content.trim() === '') return;
    try {
      const dashboard = parseDashboard(content);
      setParsed(dashboard);
      setName(dashboard.metadata.name);
    } catch (e) {
      setError(e instanceof ImportProblem ? e : new ImportProblem(String(e)));
    }
  };

  const onFile = async (event: ChangeEvent<HTMLInputElement>) => {
    const input = event.target;
    const file = input.files?.[0];
    // Cleared so that choosing the same file again (after fixing it) reads it again.
    input.value = '';
    if (file) takeText(await file.text());
  };

  const submit = async () => {
    if (!parsed) return;
    setBusy(true);
    setError(undefined);
    try {
      await createDashboard(project, prepareForImport(parsed, project, name.trim()));
      navigate(dashboardUrl(project, name.trim()));
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  };

  const panelCount = parsed ? Object.keys(parsed.spec.panels ?? {}).length : 0;

  return (
    <Page title="Import a dashboard">
      <Stack spacing={2}>
        <ErrorNotice error={projects.error} onRetry={projects.reload} />
        <TextField
          select
          label="Project"
          value={projects.data ? project : ''}
          onChange={(e) => setProject(e.target.value)}
          sx={{ maxWidth: 360 }}
          inputProps={{ 'data-testid': 'import-project' }}
        >
          {(projects.data ?? []).map((p) => (
            <MenuItem key={p.metadata.name} value={p.metadata.name}>
              {p.metadata.name}
            </MenuItem>
          ))}
        </TextField>
        <Box>
          <Button variant="outlined" component="label">
            Choose a Perses JSON or YAML file
            <input hidden type="file" accept=".json,.yaml,.yml,application/json" onChange={onFile} data-testid="import-file" />
          </Button>
        </Box>
        <TextField
          label="…or paste it here"
          multiline
          minRows={6}
          maxRows={16}
          value={text}
          onChange={(e) => takeText(e.target.value)}
          inputProps={{ spellCheck: false, style: { fontFamily: 'monospace', fontSize: 12 } }}
        />
        <ErrorNotice error={error} title="Cannot import" />
        {parsed ? (
          <Alert severity="info" data-testid="import-preview">
            <Typography variant="body2">
              Dashboard “{parsed.spec.display?.name ?? parsed.metadata.name}” with {panelCount} panel
              {panelCount === 1 ? '' : 's'} and {Object.keys(parsed.spec.datasources ?? {}).length} own datasource(s).
            </Typography>
          </Alert>
        ) : null}
        <TextField
          label="Name in the project"
          value={name}
          onChange={(e) => setName(e.target.value)}
          disabled={!parsed}
          sx={{ maxWidth: 360 }}
          helperText="Change it if the project already has a dashboard with this name"
        />
        <Box>
          <Button variant="contained" onClick={submit} disabled={!parsed || busy || project === '' || name.trim() === ''}>
            Import
          </Button>
        </Box>
      </Stack>
    </Page>
  );
}
