// The fleet at a glance (`/fleet`, docs/user/fleet.md "The fleet pages"): summary cards (clusters
// by health and type, GPUs, alerts firing), one tile per cluster coloured by its health (a click
// opens the cluster's detail), and the ten most recent alert changes. Live over the shared event
// stream: status changes recolour the tiles, new and resolved alerts appear without a reload.
import type { ReactNode } from 'react';
import { Link as RouterLink, useNavigate } from 'react-router-dom';
import Alert from '@mui/material/Alert';
import Box from '@mui/material/Box';
import Button from '@mui/material/Button';
import Card from '@mui/material/Card';
import CardActionArea from '@mui/material/CardActionArea';
import CardContent from '@mui/material/CardContent';
import Chip from '@mui/material/Chip';
import Link from '@mui/material/Link';
import Paper from '@mui/material/Paper';
import Stack from '@mui/material/Stack';
import Table from '@mui/material/Table';
import TableBody from '@mui/material/TableBody';
import TableCell from '@mui/material/TableCell';
import TableRow from '@mui/material/TableRow';
import Tooltip from '@mui/material/Tooltip';
import Typography from '@mui/material/Typography';
import { useLoad } from '../api/useLoad';
import { useAccount } from '../components/Account';
import { ErrorNotice } from '../components/ErrorNotice';
import { Page, PageLoading } from '../components/Layout';
import { CLUSTER_TYPES, alertKey, fleetSummary, gpuSummary, listAlerts, listClusters, type Cluster } from '../fleet/api';
import { useDebounced, useFleetEvents } from '../fleet/events';
import { ago, percent, plural } from '../fleet/format';
import { AlertStateChip, FleetLive, HEALTH_STATES, STATE_COLOR, STATE_PALETTE, SeverityChip, TypeBadge } from '../fleet/StatusChip';

interface SummaryCardProps {
  title: string;
  /** The headline number; absent when the card's body is the figure. */
  value?: ReactNode;
  testId: string;
  to: string;
  children?: ReactNode;
}

function SummaryCard({ title, value, testId, to, children }: SummaryCardProps) {
  return (
    <Card variant="outlined" sx={{ flex: '1 1 220px' }} data-testid={testId}>
      <CardActionArea component={RouterLink} to={to} aria-label={title} sx={{ height: '100%' }}>
        <CardContent>
          <Typography variant="overline" color="text.secondary">
            {title}
          </Typography>
          {value !== undefined ? (
            <Typography variant="h4" component="p" data-testid={`${testId}-value`}>
              {value}
            </Typography>
          ) : null}
          {children}
        </CardContent>
      </CardActionArea>
    </Card>
  );
}

function ClusterTile({ cluster, onOpen }: { cluster: Cluster; onOpen: () => void }) {
  const state = cluster.status.state;
  return (
    <Tooltip title={cluster.status.reason ?? state}>
      <Paper
        variant="outlined"
        component="button"
        type="button"
        onClick={onOpen}
        aria-label={`${cluster.name}: ${state}`}
        data-testid="cluster-tile"
        data-cluster={cluster.name}
        data-state={state}
        sx={{
          textAlign: 'left',
          cursor: 'pointer',
          width: '100%',
          p: 1.5,
          font: 'inherit',
          color: 'text.primary',
          borderLeft: 6,
          borderLeftColor: STATE_PALETTE[state],
          bgcolor: 'background.paper',
          '&:hover, &:focus-visible': { boxShadow: 3 },
        }}
      >
        <Typography variant="subtitle2" noWrap>
          {cluster.name}
        </Typography>
        <Stack direction="row" spacing={0.5} sx={{ mt: 0.5 }} alignItems="center">
          <TypeBadge type={cluster.type} />
          <Chip size="small" color={STATE_COLOR[state]} label={state} />
        </Stack>
        <Typography variant="caption" color="text.secondary" noWrap component="p" sx={{ mt: 0.5 }}>
          {[cluster.region, cluster.capabilities.dcgm ? plural(cluster.capabilities.gpu_count ?? 0, 'GPU') : undefined].filter(Boolean).join(' · ') ||
            '\u00a0'}
        </Typography>
      </Paper>
    </Tooltip>
  );
}

export default function FleetOverviewPage() {
  const navigate = useNavigate();
  const { can } = useAccount();
  const clusters = useLoad(listClusters, 'clusters');
  const summary = useLoad(fleetSummary, 'summary');
  const alerts = useLoad(() => listAlerts({ limit: 10 }), 'alerts');
  // GPU headline numbers, read only when discovery found GPUs (a fan-out to the DCGM clusters).
  const hasGpus = (summary.data?.gpus ?? 0) > 0;
  const gpus = useLoad(() => (hasGpus ? gpuSummary() : Promise.resolve(undefined)), hasGpus ? 'gpus' : 'none');
  const reloadAll = () => {
    clusters.reload();
    summary.reload();
    alerts.reload();
    gpus.reload();
  };
  const soonGpus = useDebounced(gpus.reload, 1_000);
  const soonClusters = useDebounced(() => {
    clusters.reload();
    summary.reload();
  });
  const soonAlerts = useDebounced(() => {
    alerts.reload();
    summary.reload();
  });
  const live = useFleetEvents((event) => {
    if (event.type.startsWith('ALERT_')) soonAlerts();
    else if (event.type.startsWith('CLUSTER_')) soonClusters();
    else if (event.type === 'GPU_UPDATE') soonGpus();
  }, reloadAll);

  const s = summary.data;
  const byType = s?.clusters.by_type;
  return (
    <Page title="Fleet overview" actions={<FleetLive state={live} />}>
      <ErrorNotice error={summary.error ?? clusters.error ?? alerts.error} onRetry={reloadAll} />
      <Stack direction="row" spacing={2} useFlexGap flexWrap="wrap" sx={{ mb: 3 }} data-testid="fleet-cards">
        <SummaryCard title="Clusters" value={s?.clusters.total ?? '…'} testId="card-clusters" to="/fleet/clusters">
          <Stack direction="row" spacing={0.5} useFlexGap flexWrap="wrap" sx={{ mt: 1 }}>
            {s
              ? HEALTH_STATES.map((state) => (
                  <Chip
                    key={state}
                    size="small"
                    color={STATE_COLOR[state]}
                    variant={s.clusters.by_status[state] ? 'filled' : 'outlined'}
                    label={`${s.clusters.by_status[state] ?? 0} ${state}`}
                    data-testid={`overview-count-${state}`}
                  />
                ))
              : null}
          </Stack>
        </SummaryCard>
        <SummaryCard title="By type" testId="card-types" to="/fleet/clusters">
          <Stack direction="row" spacing={2} sx={{ mt: 0.5 }} data-testid="overview-types" aria-label="Clusters by type">
            {CLUSTER_TYPES.map((t) => (
              <Box key={t.id} data-testid={`overview-type-${t.id}`} aria-label={`${byType?.[t.id] ?? 0} ${t.label.toLowerCase()}`}>
                <Typography variant="h5" component="p">
                  {byType ? (byType[t.id] ?? 0) : '…'}
                </Typography>
                <Typography variant="caption" color="text.secondary">
                  {t.label}
                </Typography>
              </Box>
            ))}
          </Stack>
        </SummaryCard>
        <SummaryCard title="GPUs" value={s ? (s.gpus ?? 0) : '…'} testId="card-gpus" to="/fleet/gpus">
          <Typography variant="body2" color="text.secondary" data-testid="card-gpus-detail">
            {s && s.gpus == null
              ? 'No cluster reports DCGM GPUs'
              : gpus.data?.totals
                ? `avg utilisation ${percent(gpus.data.totals.avg_utilisation_pct)}${
                    gpus.data.totals.xid_errors > 0 ? ` · ${plural(gpus.data.totals.xid_errors, 'GPU')} with XID errors` : ''
                  }`
                : gpus.error
                  ? 'GPU gauges unavailable right now'
                  : 'found by DCGM discovery'}
          </Typography>
        </SummaryCard>
        <SummaryCard title="Alerts firing" value={s ? (s.firing_alerts ?? 0) : '…'} testId="card-alerts" to="/fleet/alerts?state=firing">
          <Typography variant="body2" color="text.secondary">
            from the clusters' Alertmanagers
          </Typography>
        </SummaryCard>
      </Stack>

      <Typography variant="h6" component="h2" gutterBottom>
        Cluster status
      </Typography>
      {clusters.loading && !clusters.data ? <PageLoading /> : null}
      {clusters.data && clusters.data.length === 0 ? (
        <Alert
          severity="info"
          data-testid="fleet-empty"
          sx={{ mb: 3 }}
          action={
            can('create', 'Cluster') ? (
              <Button color="inherit" size="small" component={RouterLink} to="/fleet/clusters">
                Register a cluster
              </Button>
            ) : undefined
          }
        >
          No clusters yet — register one with its Prometheus or Thanos URL to see its health here.
        </Alert>
      ) : null}
      {clusters.data && clusters.data.length > 0 ? (
        <Box
          role="list"
          aria-label="Cluster status grid"
          data-testid="cluster-grid"
          sx={{ display: 'grid', gridTemplateColumns: 'repeat(auto-fill, minmax(190px, 1fr))', gap: 1.5, mb: 3 }}
        >
          {clusters.data.map((c) => (
            <Box role="listitem" key={c.name}>
              <ClusterTile cluster={c} onOpen={() => navigate(`/fleet/clusters?cluster=${encodeURIComponent(c.name)}`)} />
            </Box>
          ))}
        </Box>
      ) : null}

      <Stack direction="row" alignItems="baseline" sx={{ mb: 1 }}>
        <Typography variant="h6" component="h2" sx={{ flexGrow: 1 }}>
          Recent alerts
        </Typography>
        <Link component={RouterLink} to="/fleet/alerts">
          All alerts
        </Link>
      </Stack>
      {alerts.data && alerts.data.alerts.length === 0 ? (
        <Alert severity="success" data-testid="recent-alerts-empty">
          No alerts received. Point each cluster's Alertmanager at <code>/api/v1/alerts/webhook?cluster=NAME</code> to see them here.
        </Alert>
      ) : null}
      {alerts.data && alerts.data.alerts.length > 0 ? (
        <Table size="small" aria-label="Recent alerts" data-testid="recent-alerts">
          <TableBody>
            {alerts.data.alerts.map((a) => (
              <TableRow key={alertKey(a)} data-testid="recent-alert" data-alertname={a.alertname ?? ''} data-state={a.state}>
                <TableCell sx={{ width: 90 }}>
                  <AlertStateChip state={a.state} />
                </TableCell>
                <TableCell sx={{ width: 90 }}>
                  <SeverityChip severity={a.severity} />
                </TableCell>
                <TableCell>
                  <Typography variant="body2" fontWeight={600} component="span">
                    {a.alertname ?? a.labels.alertname ?? a.fingerprint}
                  </Typography>{' '}
                  <Typography variant="body2" color="text.secondary" component="span">
                    {a.annotations?.summary ?? ''}
                  </Typography>
                </TableCell>
                <TableCell>{a.cluster}</TableCell>
                <TableCell sx={{ whiteSpace: 'nowrap' }}>{ago(a.history?.[a.history.length - 1]?.at ?? a.last_seen)}</TableCell>
              </TableRow>
            ))}
          </TableBody>
        </Table>
      ) : null}
    </Page>
  );
}
