// Import a dashboard into a project: a Perses dashboard from a JSON or YAML file (or pasted text)
// as it is, or a Grafana dashboard JSON converted by the server (POST /api/migrate?report=true)
// with what was converted and what was lost shown before anything is saved.
import { useEffect, useState, type ChangeEvent } from 'react';
import { useNavigate, useSearchParams } from 'react-router-dom';
import Alert from '@mui/material/Alert';
import AlertTitle from '@mui/material/AlertTitle';
import Box from '@mui/material/Box';
import Button from '@mui/material/Button';
import Checkbox from '@mui/material/Checkbox';
import CircularProgress from '@mui/material/CircularProgress';
import FormControlLabel from '@mui/material/FormControlLabel';
import MenuItem from '@mui/material/MenuItem';
import Stack from '@mui/material/Stack';
import Table from '@mui/material/Table';
import TableBody from '@mui/material/TableBody';
import TableCell from '@mui/material/TableCell';
import TableHead from '@mui/material/TableHead';
import TableRow from '@mui/material/TableRow';
import TextField from '@mui/material/TextField';
import Typography from '@mui/material/Typography';
import type { DashboardResource } from '@perses-dev/core';
import { createDashboard, listProjects } from '../api/resources';
import { migrateGrafana, type MigrationLoss } from '../api/templates';
import { useLoad } from '../api/useLoad';
import { dashboardUrl } from '../components/Breadcrumbs';
import { ErrorNotice } from '../components/ErrorNotice';
import { Page } from '../components/Layout';
import { PanelKindIcon, kindLabel } from '../components/PanelPreview';
import { ImportProblem, parseImport, prepareForImport } from './importing';

/** The panel kinds the bundled UI draws (perses/plugins.ts); others say "plugin not installed". */
const BUNDLED_PANEL_KINDS = new Set(['TimeSeriesChart', 'StatChart', 'GaugeChart', 'BarChart', 'Table', 'Markdown']);

/** A dashboard ready to save; `losses` only for one converted from Grafana. */
interface Prepared {
  dashboard: DashboardResource;
  losses?: MigrationLoss[];
}

/** A Grafana dashboard waiting for conversion; pasted text waits for typing to pause. */
interface Pending {
  grafana: unknown;
  useDefaultDatasource: boolean;
  delayMs: number;
}

function panelKinds(dashboard: DashboardResource): [string, number][] {
  const counts = new Map<string, number>();
  for (const panel of Object.values(dashboard.spec.panels ?? {})) {
    const kind = panel.spec.plugin.kind;
    counts.set(kind, (counts.get(kind) ?? 0) + 1);
  }
  return [...counts.entries()].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]));
}

function ConversionReport({ prepared }: { prepared: Prepared }) {
  const { dashboard, losses = [] } = prepared;
  const kinds = panelKinds(dashboard);
  const total = kinds.reduce((sum, [, n]) => sum + n, 0);
  const missing = kinds.filter(([kind]) => !BUNDLED_PANEL_KINDS.has(kind)).map(([kind]) => kindLabel(kind));
  return (
    <Stack spacing={2} data-testid="import-conversion">
      <Alert severity="info" data-testid="import-preview">
        <AlertTitle>
          Converted from Grafana: “{dashboard.spec.display?.name ?? dashboard.metadata.name}”, {total} panel{total === 1 ? '' : 's'}
        </AlertTitle>
        <Stack direction="row" spacing={2} useFlexGap flexWrap="wrap" data-testid="import-panel-kinds">
          {kinds.map(([kind, n]) => (
            <Box key={kind} sx={{ display: 'inline-flex', alignItems: 'center', gap: 0.5 }} data-kind={kind}>
              <PanelKindIcon kind={kind} />
              <Typography variant="body2">
                {n} {kindLabel(kind)}
              </Typography>
            </Box>
          ))}
        </Stack>
        {missing.length > 0 ? (
          <Typography variant="body2" sx={{ mt: 1 }}>
            This UI has no {missing.join(', ')} panel: such panels are kept and say that their plugin is not installed.
          </Typography>
        ) : null}
      </Alert>
      {losses.length === 0 ? (
        <Alert severity="success" data-testid="import-nothing-lost">
          Nothing lost: every panel, query and variable was carried over.
        </Alert>
      ) : (
        <Box>
          <Typography variant="subtitle1" component="h2" sx={{ fontWeight: 700 }}>
            Not carried over ({losses.length})
          </Typography>
          <Typography variant="body2" color="text.secondary" sx={{ mb: 1 }}>
            The dashboard works without these; check the panels they concern after saving.
          </Typography>
          <Box sx={{ maxHeight: 360, overflow: 'auto', border: 1, borderColor: 'divider', borderRadius: 1 }}>
            <Table size="small" stickyHeader aria-label="Not carried over" data-testid="import-losses">
              <TableHead>
                <TableRow>
                  <TableCell>Location</TableCell>
                  <TableCell>What</TableCell>
                  <TableCell>Why</TableCell>
                </TableRow>
              </TableHead>
              <TableBody>
                {losses.map((loss, i) => (
                  <TableRow key={i} data-testid="import-loss-row">
                    <TableCell>{loss.location}</TableCell>
                    <TableCell>{loss.what}</TableCell>
                    <TableCell>{loss.why}</TableCell>
                  </TableRow>
                ))}
              </TableBody>
            </Table>
          </Box>
        </Box>
      )}
    </Stack>
  );
}

export default function ImportPage() {
  const navigate = useNavigate();
  const [params] = useSearchParams();
  const projects = useLoad(listProjects, 'projects');
  const [project, setProject] = useState(params.get('project') ?? '');
  const [text, setText] = useState('');
  const [prepared, setPrepared] = useState<Prepared>();
  const [pending, setPending] = useState<Pending>();
  // The Grafana dashboard last given, converted again when the datasource choice changes.
  const [grafanaInput, setGrafanaInput] = useState<unknown>();
  // Grafana's datasource names rarely exist here: by default every query uses the project's default.
  const [useDefaultDatasource, setUseDefaultDatasource] = useState(true);
  const [name, setName] = useState('');
  const [error, setError] = useState<unknown>();
  const [busy, setBusy] = useState(false);

  // The conversion of the Grafana dashboard last given (an answer for an older one is dropped).
  useEffect(() => {
    if (!pending) return undefined;
    const controller = new AbortController();
    const timer = setTimeout(() => {
      migrateGrafana(pending.grafana, pending.useDefaultDatasource, controller.signal).then(
        (migration) => {
          setPending(undefined);
          setPrepared({ dashboard: migration.dashboard, losses: migration.losses });
          setName(migration.dashboard.metadata.name);
        },
        (e: unknown) => {
          if (controller.signal.aborted) return;
          setPending(undefined);
          setError(e);
        },
      );
    }, pending.delayMs);
    return () => {
      clearTimeout(timer);
      controller.abort();
    };
  }, [pending]);

  const takeText = (content: string, delayMs: number) => {
    setText(content);
    setError(undefined);
    setPrepared(undefined);
    setPending(undefined);
    setGrafanaInput(undefined);
    if (content.trim() === '') return;
    try {
      const input = parseImport(content);
      if (input.source === 'grafana') {
        setGrafanaInput(input.grafana);
        setPending({ grafana: input.grafana, useDefaultDatasource, delayMs });
      } else {
        setPrepared({ dashboard: input.dashboard });
        setName(input.dashboard.metadata.name);
      }
    } catch (e) {
      setError(e instanceof ImportProblem ? e : new ImportProblem(String(e)));
    }
  };

  const chooseDatasource = (useDefault: boolean) => {
    setUseDefaultDatasource(useDefault);
    if (grafanaInput === undefined) return;
    setError(undefined);
    setPrepared(undefined);
    setPending({ grafana: grafanaInput, useDefaultDatasource: useDefault, delayMs: 0 });
  };

  const onFile = async (event: ChangeEvent<HTMLInputElement>) => {
    const input = event.target;
    const file = input.files?.[0];
    // Cleared so that choosing the same file again (after fixing it) reads it again.
    input.value = '';
    if (file) takeText(await file.text(), 0);
  };

  const submit = async () => {
    if (!prepared) return;
    setBusy(true);
    setError(undefined);
    try {
      await createDashboard(project, prepareForImport(prepared.dashboard, project, name.trim()));
      navigate(dashboardUrl(project, name.trim()));
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  };

  const grafana = prepared?.losses !== undefined;
  const perses = prepared && !grafana ? prepared.dashboard : undefined;
  const panelCount = perses ? Object.keys(perses.spec.panels ?? {}).length : 0;

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
            Choose a file: Perses JSON or YAML, Grafana JSON
            <input hidden type="file" accept=".json,.yaml,.yml,application/json" onChange={onFile} data-testid="import-file" />
          </Button>
        </Box>
        <TextField
          label="…or paste it here"
          multiline
          minRows={6}
          maxRows={16}
          value={text}
          onChange={(e) => takeText(e.target.value, 400)}
          inputProps={{ spellCheck: false, style: { fontFamily: 'monospace', fontSize: 12 }, 'data-testid': 'import-text' }}
        />
        {grafanaInput !== undefined ? (
          <FormControlLabel
            control={
              <Checkbox
                checked={useDefaultDatasource}
                onChange={(e) => chooseDatasource(e.target.checked)}
                inputProps={{ 'aria-describedby': 'import-datasource-help' }}
                data-testid="import-default-datasource"
              />
            }
            label={
              <Box>
                <Typography variant="body2">Query the project's default Prometheus datasource</Typography>
                <Typography variant="caption" color="text.secondary" id="import-datasource-help">
                  Off: the queries keep the datasource names of the Grafana dashboard (a datasource of that name must exist in
                  Pharos).
                </Typography>
              </Box>
            }
          />
        ) : null}
        {pending ? (
          <Stack direction="row" spacing={1} alignItems="center" data-testid="import-converting">
            <CircularProgress size={18} aria-label="Converting" />
            <Typography variant="body2">Converting the Grafana dashboard…</Typography>
          </Stack>
        ) : null}
        <ErrorNotice error={error} title="Cannot import" />
        {perses ? (
          <Alert severity="info" data-testid="import-preview">
            <Typography variant="body2">
              Dashboard “{perses.spec.display?.name ?? perses.metadata.name}” with {panelCount} panel
              {panelCount === 1 ? '' : 's'} and {Object.keys(perses.spec.datasources ?? {}).length} own datasource(s).
            </Typography>
          </Alert>
        ) : null}
        {prepared && grafana ? <ConversionReport prepared={prepared} /> : null}
        <TextField
          label="Name in the project"
          value={name}
          onChange={(e) => setName(e.target.value)}
          disabled={!prepared}
          sx={{ maxWidth: 360 }}
          helperText="Change it if the project already has a dashboard with this name"
          inputProps={{ 'data-testid': 'import-name' }}
        />
        <Box>
          <Button variant="contained" onClick={submit} disabled={!prepared || busy || project === '' || name.trim() === ''}>
            {grafana ? 'Save' : 'Import'}
          </Button>
        </Box>
      </Stack>
    </Page>
  );
}
