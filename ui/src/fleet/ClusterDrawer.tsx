// One cluster in detail, in a drawer over the clusters page (`/fleet/clusters?cluster=NAME`): its
// health now, what discovery found, its settings, and its recent health transitions with their
// reasons. It reloads the history whenever the page hears that the cluster changed.
import type { ReactNode } from 'react';
import Box from '@mui/material/Box';
import Button from '@mui/material/Button';
import Chip from '@mui/material/Chip';
import Divider from '@mui/material/Divider';
import Drawer from '@mui/material/Drawer';
import IconButton from '@mui/material/IconButton';
import Stack from '@mui/material/Stack';
import Table from '@mui/material/Table';
import TableBody from '@mui/material/TableBody';
import TableCell from '@mui/material/TableCell';
import TableHead from '@mui/material/TableHead';
import TableRow from '@mui/material/TableRow';
import Typography from '@mui/material/Typography';
import { Close as CloseIcon } from 'mdi-material-ui';
import { useLoad } from '../api/useLoad';
import { formatTime, useAccount } from '../components/Account';
import { ErrorNotice } from '../components/ErrorNotice';
import { clusterStatus, type Cluster } from './api';
import { StateChip, TypeBadge } from './StatusChip';

function Field({ label, children }: { label: string; children: ReactNode }) {
  return (
    <Box sx={{ display: 'flex', gap: 2, py: 0.5 }}>
      <Typography variant="body2" color="text.secondary" sx={{ width: 140, flexShrink: 0 }}>
        {label}
      </Typography>
      <Box sx={{ typography: 'body2', minWidth: 0, overflowWrap: 'anywhere' }}>{children}</Box>
    </Box>
  );
}

function Found({ yes, label }: { yes: boolean | undefined; label: string }) {
  return (
    <Chip
      size="small"
      variant={yes ? 'filled' : 'outlined'}
      color={yes ? 'success' : 'default'}
      label={`${label}: ${yes ? 'yes' : 'no'}`}
      data-testid="cluster-capability"
      data-found={yes ? 'true' : 'false'}
    />
  );
}

interface Props {
  cluster: Cluster;
  /** Changes whenever the cluster changed: the history is read again. */
  version: number;
  onClose: () => void;
  onEdit?: () => void;
  onRefresh?: () => void;
  onRemove?: () => void;
}

export function ClusterDrawer({ cluster, version, onClose, onEdit, onRefresh, onRemove }: Props) {
  const { preferences } = useAccount();
  const status = useLoad(() => clusterStatus(cluster.name), `${cluster.name}#${version}`);
  const caps = cluster.capabilities;
  const history = status.data?.history;
  return (
    <Drawer anchor="right" open onClose={onClose} PaperProps={{ sx: { width: { xs: '100%', md: 620 } } }}>
      <Box role="region" aria-label={`Cluster ${cluster.name}`} data-testid="cluster-detail" data-cluster={cluster.name} sx={{ p: 3 }}>
        <Stack direction="row" spacing={1} alignItems="center" sx={{ mb: 2 }}>
          <Typography variant="h6" component="h2" sx={{ flexGrow: 1 }}>
            {cluster.name}
          </Typography>
          <TypeBadge type={cluster.type} />
          <StateChip state={cluster.status.state} />
          <IconButton aria-label="Close" onClick={onClose} size="small">
            <CloseIcon fontSize="small" />
          </IconButton>
        </Stack>
        <Stack direction="row" spacing={1} sx={{ mb: 2 }}>
          {onEdit ? (
            <Button size="small" variant="outlined" onClick={onEdit} data-testid="cluster-detail-edit">
              Edit
            </Button>
          ) : null}
          {onRefresh ? (
            <Button size="small" variant="outlined" onClick={onRefresh}>
              Check now
            </Button>
          ) : null}
          {onRemove ? (
            <Button size="small" variant="outlined" color="error" onClick={onRemove}>
              Remove
            </Button>
          ) : null}
        </Stack>
        <Field label="Reason">{cluster.status.reason || '—'}</Field>
        <Field label="Last check">
          {formatTime(cluster.status.checked_at, preferences)}
          {cluster.status.latency_ms != null ? ` · ${cluster.status.latency_ms} ms` : ''}
        </Field>
        <Field label="Prometheus">{cluster.prometheus_url}</Field>
        <Field label="Alertmanager">{cluster.alertmanager_url || '—'}</Field>
        <Field label="Region">{cluster.region || '—'}</Field>
        <Field label="Labels">
          {Object.keys(cluster.labels ?? {}).length === 0
            ? '—'
            : Object.entries(cluster.labels ?? {}).map(([k, v]) => (
                <Chip key={k} size="small" variant="outlined" label={`${k}=${v}`} sx={{ mr: 0.5, mb: 0.5 }} />
              ))}
        </Field>
        <Field label="Credentials">{cluster.credentials?.configured ? `${cluster.credentials.type ?? 'set'}` : 'none'}</Field>
        <Divider sx={{ my: 2 }} />
        <Typography variant="subtitle2" component="h3" gutterBottom>
          Capabilities
        </Typography>
        <Stack direction="row" spacing={1} flexWrap="wrap" useFlexGap data-testid="cluster-detail-capabilities">
          <Found yes={caps.prometheus?.reachable} label={`Prometheus${caps.prometheus?.version ? ` ${caps.prometheus.version}` : ''}`} />
          <Found yes={caps.dcgm} label={`DCGM${caps.dcgm ? ` (${caps.gpu_count ?? 0} GPUs)` : ''}`} />
          <Found yes={caps.kube_state_metrics} label="kube-state-metrics" />
          <Found yes={caps.alertmanager} label="Alertmanager" />
        </Stack>
        <Divider sx={{ my: 2 }} />
        <Typography variant="subtitle2" component="h3" gutterBottom>
          Health history
        </Typography>
        <ErrorNotice error={status.error} onRetry={status.reload} />
        {history === undefined && !status.error ? <Typography variant="body2">Loading…</Typography> : null}
        {history && history.length === 0 ? <Typography variant="body2">No health change yet.</Typography> : null}
        {history && history.length > 0 ? (
          <Table size="small" aria-label="Health history" data-testid="cluster-history">
            <TableHead>
              <TableRow>
                <TableCell>When</TableCell>
                <TableCell>Change</TableCell>
                <TableCell>Reason</TableCell>
                <TableCell>Latency</TableCell>
              </TableRow>
            </TableHead>
            <TableBody>
              {history.map((t) => (
                <TableRow key={`${t.at}-${t.from}-${t.to}`} data-testid="cluster-history-entry">
                  <TableCell sx={{ whiteSpace: 'nowrap' }}>{formatTime(t.at, preferences)}</TableCell>
                  <TableCell sx={{ whiteSpace: 'nowrap' }}>
                    <StateChip state={t.from} /> → <StateChip state={t.to} />
                  </TableCell>
                  <TableCell>{t.reason ?? ''}</TableCell>
                  <TableCell>{t.latency_ms != null ? `${t.latency_ms} ms` : ''}</TableCell>
                </TableRow>
              ))}
            </TableBody>
          </Table>
        ) : null}
      </Box>
    </Drawer>
  );
}
