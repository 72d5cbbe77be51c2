// The fleet's clusters (`/fleet/clusters`, docs/user/fleet.md "The fleet pages"): counts by health,
// one row per cluster with its health, reason, latency and what discovery found; filters by type,
// health and text (name, region, labels) kept in the address; registering, editing and removing
// for those allowed to; and each cluster's detail with its health history in a drawer
// (`?cluster=NAME`). Live over the shared event stream (fleet/events.ts).
import { useMemo, useState } from 'react';
import { useSearchParams } from 'react-router-dom';
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
import { useLoad } from '../api/useLoad';
import { useAccount } from '../components/Account';
import { ErrorNotice } from '../components/ErrorNotice';
import { Page, PageLoading } from '../components/Layout';
import { CLUSTER_TYPES, deleteCluster, fleetSummary, listClusters, refreshCluster, type Cluster } from '../fleet/api';
import { ClusterDialog } from '../fleet/ClusterDialog';
import { ClusterDrawer } from '../fleet/ClusterDrawer';
import { useDebounced, useFleetEvents } from '../fleet/events';
import { labelText, plural } from '../fleet/format';
import { FleetLive, HEALTH_STATES, STATE_COLOR, StateChip, typeLabel } from '../fleet/StatusChip';

function capabilities(c: Cluster): string {
  const found = [];
  if (c.capabilities.prometheus?.version) found.push(`Prometheus ${c.capabilities.prometheus.version}`);
  if (c.capabilities.dcgm) found.push(`DCGM (${c.capabilities.gpu_count ?? 0} GPUs)`);
  if (c.capabilities.kube_state_metrics) found.push('kube-state-metrics');
  if (c.capabilities.alertmanager) found.push('Alertmanager');
  return found.join(' · ');
}

/** Whether `c` matches the free text: its name, region or one of its labels (`key=value`). */
function matchesText(c: Cluster, text: string): boolean {
  const needle = text.trim().toLowerCase();
  if (!needle) return true;
  const haystack = [c.name, c.region ?? '', labelText(c.labels), ...Object.entries(c.labels ?? {}).map(([k, v]) => `${k}=${v}`)];
  return needle.split(/\s+/).every((word) => haystack.some((h) => h.toLowerCase().includes(word)));
}

export default function FleetPage() {
  const { can } = useAccount();
  const [params, setParams] = useSearchParams();
  const clusters = useLoad(listClusters, 'clusters');
  const summary = useLoad(fleetSummary, 'summary');
  const [version, setVersion] = useState(0);
  const reloadAll = () => {
    clusters.reload();
    summary.reload();
    setVersion((v) => v + 1);
  };
  // Bursts (register → discovery → first check) become one reload.
  const soon = useDebounced(reloadAll);
  const soonSummary = useDebounced(summary.reload);
  const live = useFleetEvents((event) => {
    if (event.type.startsWith('CLUSTER_')) soon();
    else if (event.type.startsWith('ALERT_')) soonSummary();
  }, reloadAll);
  const [dialog, setDialog] = useState<{ editing?: Cluster } | undefined>();
  const [removing, setRemoving] = useState<string>();
  const [error, setError] = useState<unknown>();
  const act = async (work: () => Promise<unknown>) => {
    setError(undefined);
    try {
      await work();
      reloadAll();
    } catch (e) {
      setError(e);
    }
  };

  const typeFilter = params.get('type') ?? '';
  const statusFilter = params.get('status') ?? '';
  const textFilter = params.get('q') ?? '';
  const selected = params.get('cluster') ?? undefined;
  const setParam = (key: string, value: string | undefined) =>
    setParams(
      (previous) => {
        const next = new URLSearchParams(previous);
        if (value) next.set(key, value);
        else next.delete(key);
        return next;
      },
      { replace: key !== 'cluster' },
    );
  const shown = useMemo(
    () =>
      (clusters.data ?? []).filter(
        (c) => (!typeFilter || c.type === typeFilter) && (!statusFilter || c.status.state === statusFilter) && matchesText(c, textFilter),
      ),
    [clusters.data, typeFilter, statusFilter, textFilter],
  );
  const detail = selected ? clusters.data?.find((c) => c.name === selected) : undefined;
  const filtered = Boolean(typeFilter || statusFilter || textFilter);
  const mayCreate = can('create', 'Cluster');
  const mayUpdate = can('update', 'Cluster');
  const mayDelete = can('delete', 'Cluster');

  const counts = summary.data?.clusters.by_status;
  return (
    <Page
      title="Clusters"
      actions={
        mayCreate ? (
          <Button variant="contained" onClick={() => setDialog({})} data-testid="cluster-register">
            Register cluster
          </Button>
        ) : undefined
      }
    >
      <Stack direction="row" spacing={1} sx={{ mb: 2 }} alignItems="center" flexWrap="wrap" useFlexGap data-testid="fleet-summary">
        <Chip size="small" variant="outlined" label={summary.data ? plural(summary.data.clusters.total, 'cluster') : '… clusters'} />
        {counts
          ? HEALTH_STATES.map((s) => (
              <Chip
                key={s}
                size="small"
                color={STATE_COLOR[s]}
                variant={counts[s] ? 'filled' : 'outlined'}
                label={`${counts[s] ?? 0} ${s}`}
                data-testid={`fleet-count-${s}`}
                onClick={() => setParam('status', statusFilter === s ? undefined : s)}
                aria-pressed={statusFilter === s}
              />
            ))
          : null}
        {summary.data?.gpus != null ? <Chip size="small" variant="outlined" label={plural(summary.data.gpus, 'GPU')} /> : null}
        {summary.data?.firing_alerts != null ? <Chip size="small" variant="outlined" label={`${plural(summary.data.firing_alerts, 'alert')} firing`} /> : null}
        <Box sx={{ flex: 1 }} />
        <FleetLive state={live} />
      </Stack>
      <Stack direction="row" spacing={1} sx={{ mb: 2 }} flexWrap="wrap" useFlexGap role="search" aria-label="Filter clusters">
        <TextField
          select
          size="small"
          label="Type"
          value={typeFilter}
          onChange={(e) => setParam('type', e.target.value)}
          sx={{ minWidth: 140 }}
          SelectProps={{ inputProps: { 'data-testid': 'clusters-filter-type' } }}
        >
          <MenuItem value="">Any type</MenuItem>
          {CLUSTER_TYPES.map((t) => (
            <MenuItem key={t.id} value={t.id}>
              {t.label}
            </MenuItem>
          ))}
        </TextField>
        <TextField
          select
          size="small"
          label="Health"
          value={statusFilter}
          onChange={(e) => setParam('status', e.target.value)}
          sx={{ minWidth: 140 }}
        >
          <MenuItem value="">Any health</MenuItem>
          {HEALTH_STATES.map((s) => (
            <MenuItem key={s} value={s}>
              {s}
            </MenuItem>
          ))}
        </TextField>
        <TextField
          size="small"
          label="Name, region or label"
          placeholder="env=prod eu-west"
          value={textFilter}
          onChange={(e) => setParam('q', e.target.value)}
          sx={{ minWidth: 260 }}
          inputProps={{ 'data-testid': 'clusters-filter-text' }}
        />
        {filtered ? (
          <Button size="small" onClick={() => setParams({}, { replace: true })}>
            Clear filters
          </Button>
        ) : null}
      </Stack>
      <ErrorNotice error={clusters.error ?? summary.error ?? error} onRetry={reloadAll} />
      {clusters.loading && !clusters.data ? <PageLoading /> : null}
      {clusters.data && clusters.data.length === 0 ? (
        <Alert
          severity="info"
          data-testid="fleet-empty"
          action={
            mayCreate ? (
              <Button color="inherit" size="small" onClick={() => setDialog({})}>
                Register a cluster
              </Button>
            ) : undefined
          }
        >
          No clusters yet — register one with its Prometheus or Thanos URL.
        </Alert>
      ) : null}
      {clusters.data && clusters.data.length > 0 && shown.length === 0 ? (
        <Alert severity="info" data-testid="clusters-none-match">
          No cluster matches these filters.
        </Alert>
      ) : null}
      {shown.length > 0 ? (
        <Table size="small" aria-label="Clusters" data-testid="clusters">
          <TableHead>
            <TableRow>
              <TableCell>Name</TableCell>
              <TableCell>Type</TableCell>
              <TableCell>Region</TableCell>
              <TableCell>Labels</TableCell>
              <TableCell>Health</TableCell>
              <TableCell>Reason</TableCell>
              <TableCell>Latency</TableCell>
              <TableCell>Found</TableCell>
              <TableCell />
            </TableRow>
          </TableHead>
          <TableBody>
            {shown.map((c) => (
              <TableRow key={c.name} data-testid="cluster-row" data-cluster={c.name} hover selected={c.name === selected}>
                <TableCell>{c.name}</TableCell>
                <TableCell>{typeLabel(c.type)}</TableCell>
                <TableCell sx={{ whiteSpace: 'nowrap' }}>{c.region ?? ''}</TableCell>
                <TableCell sx={{ maxWidth: 220 }}>
                  {Object.entries(c.labels ?? {}).map(([k, v]) => (
                    <Chip key={k} size="small" variant="outlined" label={`${k}=${v}`} sx={{ mr: 0.5, mb: 0.25 }} />
                  ))}
                </TableCell>
                <TableCell>
                  <StateChip state={c.status.state} />
                </TableCell>
                <TableCell sx={{ maxWidth: 280 }}>{c.status.reason ?? ''}</TableCell>
                <TableCell>{c.status.latency_ms != null ? `${c.status.latency_ms} ms` : ''}</TableCell>
                <TableCell data-testid="cluster-capabilities">{capabilities(c)}</TableCell>
                <TableCell align="right" sx={{ whiteSpace: 'nowrap' }}>
                  <Button size="small" onClick={() => setParam('cluster', c.name)} data-testid="cluster-history-toggle" aria-label={`Details of ${c.name}`}>
                    Details
                  </Button>
                  {mayUpdate ? (
                    <Button size="small" onClick={() => setDialog({ editing: c })} aria-label={`Edit ${c.name}`} data-testid="cluster-edit">
                      Edit
                    </Button>
                  ) : null}
                  {mayUpdate ? (
                    <Button size="small" onClick={() => void act(() => refreshCluster(c.name))} data-testid="cluster-refresh">
                      Check now
                    </Button>
                  ) : null}
                  {mayDelete ? (
                    <Button size="small" color="error" onClick={() => setRemoving(c.name)} aria-label={`Remove ${c.name}`}>
                      Remove
                    </Button>
                  ) : null}
                </TableCell>
              </TableRow>
            ))}
          </TableBody>
        </Table>
      ) : null}
      {selected && clusters.data && !detail ? (
        <Alert severity="warning" sx={{ mt: 2 }} onClose={() => setParam('cluster', undefined)} data-testid="cluster-missing">
          There is no cluster named “{selected}” (any more).
        </Alert>
      ) : null}
      {detail ? (
        <ClusterDrawer
          cluster={detail}
          version={version}
          onClose={() => setParam('cluster', undefined)}
          onEdit={mayUpdate ? () => setDialog({ editing: detail }) : undefined}
          onRefresh={mayUpdate ? () => void act(() => refreshCluster(detail.name)) : undefined}
          onRemove={mayDelete ? () => setRemoving(detail.name) : undefined}
        />
      ) : null}
      {dialog ? <ClusterDialog editing={dialog.editing} onClose={() => setDialog(undefined)} onDone={reloadAll} /> : null}
      {removing ? (
        <Dialog open onClose={() => setRemoving(undefined)} aria-labelledby="remove-title">
          <DialogTitle id="remove-title">Remove {removing}?</DialogTitle>
          <DialogContent>Its credentials and health history go with it; its metrics stay where they are.</DialogContent>
          <DialogActions>
            <Button onClick={() => setRemoving(undefined)}>Cancel</Button>
            <Button
              color="error"
              variant="contained"
              onClick={() => {
                const name = removing;
                setRemoving(undefined);
                if (name === selected) setParam('cluster', undefined);
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
