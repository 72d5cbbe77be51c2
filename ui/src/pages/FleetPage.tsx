// The fleet's clusters (docs/user/fleet.md, "In the UI"): counts by health, one row per cluster
// with its health, reason, latency and what discovery found, registration and removal, and each
// cluster's recent health transitions. The page is live: the registry's event stream
// (`/api/v1/events?topics=clusters`) makes it reload what changed; when the stream is refused or
// drops it polls every 15 s instead.
import { Fragment, useEffect, useRef, useState } from 'react';
import Alert from '@mui/material/Alert';
import Box from '@mui/material/Box';
import Button from '@mui/material/Button';
import Chip from '@mui/material/Chip';
import Dialog from '@mui/material/Dialog';
import DialogActions from '@mui/material/DialogActions';
import DialogContent from '@mui/material/DialogContent';
import DialogTitle from '@mui/material/DialogTitle';
import MenuItem from '@mui/material/MenuItem';
import Stack from '@mui/material/Stack';
import Table from '@mui/material/Table';
import TableBody from '@mui/material/TableBody';
import TableCell from '@mui/material/TableCell';
import TableHead from '@mui/material/TableHead';
import TableRow from '@mui/material/TableRow';
import TextField from '@mui/material/TextField';
import Typography from '@mui/material/Typography';
import {
  CLUSTER_EVENTS_URL,
  CLUSTER_TYPES,
  clusterHistory,
  deleteCluster,
  fleetSummary,
  listClusters,
  refreshCluster,
  registerCluster,
  type Cluster,
  type ClusterType,
  type HealthState,
  type Transition,
} from '../api/fleet';
import { useLoad } from '../api/useLoad';
import { useAccount } from '../components/Account';
import { ErrorNotice } from '../components/ErrorNotice';
import { Page, PageLoading } from '../components/Layout';

const STATE_COLOR: Record<HealthState, 'success' | 'warning' | 'error' | 'default'> = {
  healthy: 'success',
  degraded: 'warning',
  unreachable: 'error',
  unknown: 'default',
};

const POLL_MS = 15_000;

function StateChip({ state }: { state: HealthState }) {
  return <Chip size="small" color={STATE_COLOR[state]} label={state} data-testid="cluster-state" data-state={state} />;
}

/** Reloads through `reload` whenever the registry changes: live over SSE, else by polling. */
function useLiveRegistry(reload: () => void): 'live' | 'polling' {
  const [mode, setMode] = useState<'live' | 'polling'>('live');
  const latest = useRef(reload);
  latest.current = reload;
  useEffect(() => {
    let timer: ReturnType<typeof setTimeout> | undefined;
    // Bursts (register → discovery → first check) become one reload.
    const soon = () => {
      if (timer === undefined) timer = setTimeout(() => ((timer = undefined), latest.current()), 300);
    };
    const source = new EventSource(CLUSTER_EVENTS_URL);
    let poll: ReturnType<typeof setInterval> | undefined;
    source.onmessage = soon;
    source.addEventListener('lagged', soon);
    source.onerror = () => {
      if (source.readyState === EventSource.CLOSED && poll === undefined) {
        setMode('polling');
        poll = setInterval(() => latest.current(), POLL_MS);
      }
    };
    return () => {
      source.close();
      if (timer !== undefined) clearTimeout(timer);
      if (poll !== undefined) clearInterval(poll);
    };
  }, []);
  return mode;
}

function RegisterDialog({ onClose, onDone }: { onClose: () => void; onDone: () => void }) {
  const [name, setName] = useState('');
  const [type, setType] = useState<ClusterType>('spoke');
  const [url, setUrl] = useState('');
  const [alertmanager, setAlertmanager] = useState('');
  const [region, setRegion] = useState('');
  const [labels, setLabels] = useState('');
  const [error, setError] = useState<unknown>();
  const [busy, setBusy] = useState(false);
  const submit = async () => {
    setBusy(true);
    setError(undefined);
    const pairs: Record<string, string> = {};
    for (const pair of labels.split(',').map((p) => p.trim()).filter(Boolean)) {
      const [key, ...rest] = pair.split('=');
      pairs[(key ?? '').trim()] = rest.join('=').trim();
    }
    try {
      await registerCluster({
        name: name.trim(),
        type,
        prometheus_url: url.trim(),
        ...(alertmanager.trim() ? { alertmanager_url: alertmanager.trim() } : {}),
        ...(region.trim() ? { region: region.trim() } : {}),
        ...(Object.keys(pairs).length > 0 ? { labels: pairs } : {}),
      });
      onDone();
      onClose();
    } catch (e) {
      setError(e);
      setBusy(false);
    }
  };
  return (
    <Dialog open onClose={onClose} fullWidth maxWidth="sm" aria-labelledby="register-title">
      <DialogTitle id="register-title">Register a cluster</DialogTitle>
      <DialogContent>
        <TextField autoFocus fullWidth margin="dense" label="Name" value={name} onChange={(e) => setName(e.target.value)}
          helperText="Lowercase letters, digits and “-”; its id in every address" inputProps={{ 'data-testid': 'cluster-name' }} />
        <TextField select fullWidth margin="dense" label="Type" value={type} onChange={(e) => setType(e.target.value as ClusterType)}
          helperText="How often it is checked: hub 15 s, spoke 30 s, edge 60 s, far edge 120 s" inputProps={{ 'data-testid': 'cluster-type' }}>
          {CLUSTER_TYPES.map((t) => (
            <MenuItem key={t.id} value={t.id}>
              {t.label}
            </MenuItem>
          ))}
        </TextField>
        <TextField fullWidth margin="dense" label="Prometheus or Thanos URL" value={url} onChange={(e) => setUrl(e.target.value)}
          placeholder="https://thanos-querier.openshift-monitoring.svc:9091" inputProps={{ 'data-testid': 'cluster-url' }} />
        <TextField fullWidth margin="dense" label="Alertmanager URL (optional)" value={alertmanager} onChange={(e) => setAlertmanager(e.target.value)} />
        <TextField fullWidth margin="dense" label="Region (optional)" value={region} onChange={(e) => setRegion(e.target.value)} />
        <TextField fullWidth margin="dense" label="Labels (optional)" value={labels} onChange={(e) => setLabels(e.target.value)} placeholder="env=prod, team=ml" />
        <ErrorNotice error={error} title="Not registered" />
      </DialogContent>
      <DialogActions>
        <Button onClick={onClose}>Cancel</Button>
        <Button variant="contained" onClick={() => void submit()} disabled={busy || !name.trim() || !url.trim()} data-testid="cluster-register-submit">
          Register
        </Button>
      </DialogActions>
    </Dialog>
  );
}

function History({ name }: { name: string }) {
  const history = useLoad<Transition[]>(() => clusterHistory(name), name);
  if (history.error) return <ErrorNotice error={history.error} />;
  if (!history.data) return <Typography variant="body2">Loading…</Typography>;
  if (history.data.length === 0) return <Typography variant="body2">No health change yet.</Typography>;
  return (
    <Table size="small" data-testid="cluster-history">
      <TableBody>
        {history.data.map((t) => (
          <TableRow key={`${t.at}-${t.to}`}>
            <TableCell>{new Date(t.at).toLocaleString()}</TableCell>
            <TableCell>
              <StateChip state={t.from} /> → <StateChip state={t.to} />
            </TableCell>
            <TableCell>{t.reason ?? ''}</TableCell>
          </TableRow>
        ))}
      </TableBody>
    </Table>
  );
}

function capabilities(c: Cluster): string {
  const found = [];
  if (c.capabilities.prometheus?.version) found.push(`Prometheus ${c.capabilities.prometheus.version}`);
  if (c.capabilities.dcgm) found.push(`DCGM (${c.capabilities.gpu_count ?? 0} GPUs)`);
  if (c.capabilities.kube_state_metrics) found.push('kube-state-metrics');
  if (c.capabilities.alertmanager) found.push('Alertmanager');
  return found.join(' · ');
}

export default function FleetPage() {
  const { can } = useAccount();
  const clusters = useLoad(listClusters, 'clusters');
  const summary = useLoad(fleetSummary, 'summary');
  const mode = useLiveRegistry(() => {
    clusters.reload();
    summary.reload();
  });
  const [registering, setRegistering] = useState(false);
  const [open, setOpen] = useState<string>();
  const [removing, setRemoving] = useState<string>();
  const [error, setError] = useState<unknown>();
  const act = async (work: () => Promise<unknown>) => {
    setError(undefined);
    try {
      await work();
      clusters.reload();
      summary.reload();
    } catch (e) {
      setError(e);
    }
  };

  const counts = summary.data?.clusters.by_status;
  return (
    <Page
      title="Clusters"
      actions={
        can('create', 'Cluster') ? (
          <Button variant="contained" onClick={() => setRegistering(true)} data-testid="cluster-register">
            Register cluster
          </Button>
        ) : undefined
      }
    >
      <Stack direction="row" spacing={1} sx={{ mb: 2 }} alignItems="center" flexWrap="wrap" useFlexGap data-testid="fleet-summary">
        <Chip size="small" variant="outlined" label={`${summary.data?.clusters.total ?? '…'} clusters`} />
        {counts
          ? (['healthy', 'degraded', 'unreachable', 'unknown'] as HealthState[]).map((s) => (
              <Chip key={s} size="small" color={STATE_COLOR[s]} variant={counts[s] ? 'filled' : 'outlined'} label={`${counts[s] ?? 0} ${s}`} data-testid={`fleet-count-${s}`} />
            ))
          : null}
        {summary.data?.gpus != null ? <Chip size="small" variant="outlined" label={`${summary.data.gpus} GPUs`} /> : null}
        {summary.data?.firing_alerts != null ? <Chip size="small" variant="outlined" label={`${summary.data.firing_alerts} alerts firing`} /> : null}
        <Box sx={{ flex: 1 }} />
        <Chip size="small" label={mode === 'live' ? 'Live' : 'Polling every 15 s'} color={mode === 'live' ? 'success' : 'default'} variant="outlined" data-testid="fleet-live" data-state={mode} />
      </Stack>
      <ErrorNotice error={clusters.error ?? summary.error ?? error} onRetry={clusters.reload} />
      {clusters.loading && !clusters.data ? <PageLoading /> : null}
      {clusters.data && clusters.data.length === 0 ? (
        <Alert severity="info" data-testid="fleet-empty">
          No clusters yet — register one with its Prometheus or Thanos URL.
        </Alert>
      ) : null}
      {clusters.data && clusters.data.length > 0 ? (
        <Table size="small" aria-label="Clusters" data-testid="clusters">
          <TableHead>
            <TableRow>
              <TableCell>Name</TableCell>
              <TableCell>Type</TableCell>
              <TableCell>Region</TableCell>
              <TableCell>Health</TableCell>
              <TableCell>Reason</TableCell>
              <TableCell>Latency</TableCell>
              <TableCell>Found</TableCell>
              <TableCell />
            </TableRow>
          </TableHead>
          <TableBody>
            {clusters.data.map((c) => (
              <Fragment key={c.name}>
                <TableRow data-testid="cluster-row" data-cluster={c.name} hover>
                  <TableCell>{c.name}</TableCell>
                  <TableCell>{CLUSTER_TYPES.find((t) => t.id === c.type)?.label ?? c.type}</TableCell>
                  <TableCell>{c.region ?? ''}</TableCell>
                  <TableCell>
                    <StateChip state={c.status.state} />
                  </TableCell>
                  <TableCell sx={{ maxWidth: 280 }}>{c.status.reason ?? ''}</TableCell>
                  <TableCell>{c.status.latency_ms != null ? `${c.status.latency_ms} ms` : ''}</TableCell>
                  <TableCell data-testid="cluster-capabilities">{capabilities(c)}</TableCell>
                  <TableCell align="right" sx={{ whiteSpace: 'nowrap' }}>
                    <Button size="small" onClick={() => setOpen(open === c.name ? undefined : c.name)} data-testid="cluster-history-toggle">
                      History
                    </Button>
                    {can('update', 'Cluster') ? (
                      <Button size="small" onClick={() => void act(() => refreshCluster(c.name))} data-testid="cluster-refresh">
                        Check now
                      </Button>
                    ) : null}
                    {can('delete', 'Cluster') ? (
                      <Button size="small" color="error" onClick={() => setRemoving(c.name)} aria-label={`Remove ${c.name}`}>
                        Remove
                      </Button>
                    ) : null}
                  </TableCell>
                </TableRow>
                {open === c.name ? (
                  <TableRow>
                    <TableCell colSpan={8}>
                      <History name={c.name} />
                    </TableCell>
                  </TableRow>
                ) : null}
              </Fragment>
            ))}
          </TableBody>
        </Table>
      ) : null}
      {registering ? <RegisterDialog onClose={() => setRegistering(false)} onDone={() => clusters.reload()} /> : null}
      {removing ? (
        <Dialog open onClose={() => setRemoving(undefined)}>
          <DialogTitle>Remove {removing}?</DialogTitle>
          <DialogContent>Its credentials and health history go with it; its metrics stay where they are.</DialogContent>
          <DialogActions>
            <Button onClick={() => setRemoving(undefined)}>Cancel</Button>
            <Button
              color="error"
              variant="contained"
              onClick={() => {
                const name = removing;
                setRemoving(undefined);
                void act(() => deleteCluster(name));
              }}
              data-testid="cluster-remove-confirm"
            >
              Remove
            </Button>
          </DialogActions>
        </Dialog>
      ) : null}
    </Page>
  );
}
