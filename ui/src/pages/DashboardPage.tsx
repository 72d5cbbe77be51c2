// One dashboard: loads it with its ETag, renders it with the (lazily loaded) Perses module (live
// when it has a refresh interval: docs/user/ui.md, "Live mode"; with the alert rules watching its
// charts: "Alert thresholds on charts"; Share, Export and Clone next to its title) and saves with If-Match. A refused
// save (412/409) shows the server's message above the dashboard and rejects, so Perses stays in
// edit mode with everything the user changed.
import { lazy, useCallback, useEffect, useRef, useState } from 'react';
import { Link as RouterLink, useLocation, useNavigate, useParams } from 'react-router-dom';
import Alert from '@mui/material/Alert';
import AlertTitle from '@mui/material/AlertTitle';
import Box from '@mui/material/Box';
import Button from '@mui/material/Button';
import Link from '@mui/material/Link';
import Stack from '@mui/material/Stack';
import Typography from '@mui/material/Typography';
import type { DashboardResource } from '@perses-dev/core';
import { ApiError, messageOf, type Tagged } from '../api/http';
import { getDashboard, updateDashboard } from '../api/resources';
import { useLoad } from '../api/useLoad';
import { timeZoneOf, useAccount } from '../components/Account';
import { dashboardUrl, projectUrl } from '../components/Breadcrumbs';
import { ErrorNotice } from '../components/ErrorNotice';
import { PageLoading } from '../components/Layout';
import { CloneButton, ExportButton } from '../components/DashboardActions';
import { SaveTemplateButton } from '../components/SaveTemplateDialog';
import { ShareButton } from '../components/ShareDialog';

// Sized explicitly: inside the Perses toolbar the theme's heading variants are Perses's.
const titleSx = { fontSize: '1.25rem', lineHeight: 1.6 };

const PersesDashboard = lazy(() => import('../perses/PersesDashboard'));

interface SaveProblem {
  error: unknown;
  conflict: boolean;
}

function SaveProblemNotice({ problem, onLoadLatest, onClose }: { problem: SaveProblem; onLoadLatest: () => void; onClose: () => void }) {
  return (
    <Alert
      severity={problem.conflict ? 'warning' : 'error'}
      role="alert"
      data-testid="save-error"
      onClose={onClose}
      sx={{ mx: 2, mt: 1 }}
      action={
        problem.conflict ? (
          <Button color="inherit" size="small" onClick={onLoadLatest}>
            Discard my edits and load the latest
          </Button>
        ) : undefined
      }
    >
      <AlertTitle>{problem.conflict ? 'Not saved: someone else changed this dashboard' : 'Not saved'}</AlertTitle>
      {messageOf(problem.error)}
      <Typography variant="body2" sx={{ mt: 0.5 }}>
        Your edits are still here. Keep them (copy them from the JSON view if you need them) or load the latest version.
      </Typography>
    </Alert>
  );
}

export default function DashboardPage() {
  const { project = '', dashboard: name = '' } = useParams();
  const location = useLocation();
  const startEditing = (location.state as { edit?: boolean } | null)?.edit === true;
  const loaded = useLoad<Tagged<DashboardResource>>(() => getDashboard(project, name), `${project}/${name}`);
  // The ETag of what the user is editing: the one of each new answer from the server (first load,
  // "load the latest"); a successful save moves it forward.
  const etag = useRef<string>();
  const etagSource = useRef<Tagged<DashboardResource>>();
  const [mountKey, setMountKey] = useState(0);
  const [saveProblem, setSaveProblem] = useState<SaveProblem>();
  const [savedVersion, setSavedVersion] = useState<number>();
  const { can, preferences, preferencesLoaded } = useAccount();
  const navigate = useNavigate();
  // The dashboard whose address got the preferred defaults (once per dashboard opened).
  const [defaultsFor, setDefaultsFor] = useState<string>();
  const defaultsApplied = defaultsFor === `${project}/${name}`;
  if (loaded.data && !loaded.loading && loaded.data !== etagSource.current) {
    etagSource.current = loaded.data;
    etag.current = loaded.data.etag;
  }

  const onSave = useCallback(
    async (dashboard: DashboardResource) => {
      try {
        const saved = await updateDashboard(project, name, dashboard, etag.current);
        etag.current = saved.etag;
        setSaveProblem(undefined);
        setSavedVersion(saved.body.metadata.version);
        return saved.body;
      } catch (error) {
        setSaveProblem({ error, conflict: error instanceof ApiError && error.isConflict });
        throw error;
      }
    },
    [project, name],
  );

  // The user's preferred refresh interval and time range fill in what neither the address nor
  // the dashboard says, before Perses reads the address.
  const spec = loaded.data?.body.spec;
  useEffect(() => {
    if (defaultsApplied || !spec || loaded.loading || !preferencesLoaded) return;
    const params = new URLSearchParams(location.search);
    let changed = false;
    if (!params.has('start') && !spec.duration && preferences.time_range) {
      params.set('start', preferences.time_range);
      changed = true;
    }
    const ownRefresh = spec.refreshInterval && spec.refreshInterval !== '0s';
    if (!params.has('refresh') && !ownRefresh && preferences.refresh_interval) {
      params.set('refresh', preferences.refresh_interval);
      changed = true;
    }
    if (changed) navigate({ pathname: location.pathname, search: `?${params.toString()}`, hash: location.hash }, { replace: true, state: location.state });
    setDefaultsFor(`${project}/${name}`);
  }, [defaultsApplied, spec, loaded.loading, preferencesLoaded, preferences, location, navigate, project, name]);

  const loadLatest = () => {
    setSaveProblem(undefined);
    setSavedVersion(undefined);
    loaded.reload();
    setMountKey((k) => k + 1);
  };

  if (loaded.error) {
    return (
      <Box sx={{ p: 3 }}>
        <ErrorNotice error={loaded.error} title={`Cannot open dashboard “${name}” of project “${project}”`} onRetry={loaded.reload} />
        <Link component={RouterLink} to={projectUrl(project)}>
          Back to the project's dashboards
        </Link>
      </Box>
    );
  }
  if (!loaded.data || loaded.loading || !defaultsApplied) return <PageLoading />;

  const dashboard = loaded.data.body;
  const title = (
    <Stack direction="row" spacing={1} alignItems="baseline" sx={{ minWidth: 0 }}>
      <Link component={RouterLink} to={projectUrl(project)} underline="hover" color="text.secondary" sx={titleSx}>
        {project}
      </Link>
      <Typography color="text.secondary" sx={titleSx}>
        /
      </Typography>
      <Typography noWrap data-testid="dashboard-title" sx={{ ...titleSx, fontWeight: 700 }}>
        {dashboard.spec.display?.name ?? name}
      </Typography>
      <Link
        component={RouterLink}
        to={`${dashboardUrl(project, name)}/history`}
        variant="body2"
        sx={{ pl: 1 }}
        data-testid="history-link"
      >
        history
      </Link>
    </Stack>
  );

  return (
    <Box sx={{ display: 'flex', flexDirection: 'column', flex: 1, minHeight: 0 }}>
      {saveProblem ? (
        <SaveProblemNotice problem={saveProblem} onLoadLatest={loadLatest} onClose={() => setSaveProblem(undefined)} />
      ) : null}
      {savedVersion !== undefined && !saveProblem ? (
        <Alert severity="success" sx={{ mx: 2, mt: 1 }} data-testid="save-ok" onClose={() => setSavedVersion(undefined)}>
          Saved as version {savedVersion}.
        </Alert>
      ) : null}
      <Box sx={{ flex: 1, minHeight: 0, display: 'flex' }}>
        <PersesDashboard
          key={`${project}/${name}/${mountKey}`}
          dashboard={dashboard}
          startEditing={startEditing && mountKey === 0}
          onSave={onSave}
          title={title}
          timeZone={timeZoneOf(preferences)}
          live
          alerts
          actions={(current) => (
            <>
              {can('share', 'Dashboard', project) ? <ShareButton project={project} dashboard={name} current={current} /> : null}
              <ExportButton project={project} dashboard={name} />
              <CloneButton project={project} dashboard={name} />
              <SaveTemplateButton project={project} dashboard={name} />
            </>
          )}
        />
      </Box>
    </Box>
  );
}
