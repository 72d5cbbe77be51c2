// The fleet's NVIDIA GPUs (`/fleet/gpus`, docs/user/fleet.md "GPU views" and "The fleet pages"):
// one card per cluster and GPU model from `/api/v1/gpu/summary`, and every GPU node from
// `/api/v1/gpu/nodes` in a table sortable by any column. Read again on GPU_UPDATE events (a burst
// is one read) and every 15 s when none came; a cluster that did not answer is named on the page,
// the rest still shows.
import { useMemo, useRef } from 'react';
import { Link as RouterLink, useSearchParams } from 'react-router-dom';
import Alert from '@mui/material/Alert';
import Box from '@mui/material/Box';
import Button from '@mui/material/Button';
import Card from '@mui/material/Card';
import CardContent from '@mui/material/CardContent';
import Chip from '@mui/material/Chip';
import LinearProgress from '@mui/material/LinearProgress';
import Stack from '@mui/material/Stack';
import Table from '@mui/material/Table';
import TableBody from '@mui/material/TableBody';
import TableCell from '@mui/material/TableCell';
import TableHead from '@mui/material/TableHead';
import TableRow from '@mui/material/TableRow';
import TableSortLabel from '@mui/material/TableSortLabel';
import Typography from '@mui/material/Typography';
import { useLoad } from '../api/useLoad';
import { useAccount } from '../components/Account';
import { ErrorNotice } from '../components/ErrorNotice';
import { Page, PageLoading } from '../components/Layout';
import { gpuNodes, gpuSummary, type ClusterAnswer, type GpuGroup, type GpuNode } from '../fleet/api';
import { useDebounced, useFleetEvents } from '../fleet/events';
import { bytes, fixed, percent, plural } from '../fleet/format';
import { FleetLive } from '../fleet/StatusChip';

const POLL_MS = 15_000;

type Column = { id: keyof GpuNode | 'memory'; label: string; numeric: boolean; value: (n: GpuNode) => number | string | null };
const COLUMNS: Column[] = [
  { id: 'cluster', label: 'Cluster', numeric: false, value: (n) => n.cluster },
  { id: 'node', label: 'Node', numeric: false, value: (n) => n.node },
  { id: 'gpu_model', label: 'Model', numeric: false, value: (n) => n.gpu_model },
  { id: 'gpu_count', label: 'GPUs', numeric: true, value: (n) => n.gpu_count },
  { id: 'utilisation_pct', label: 'Utilisation', numeric: true, value: (n) => n.utilisation_pct },
  { id: 'memory', label: 'Memory used / total', numeric: true, value: (n) => n.memory_used_bytes },
  { id: 'temperature_c', label: 'Temperature', numeric: true, value: (n) => n.temperature_c },
  { id: 'power_w', label: 'Power', numeric: true, value: (n) => n.power_w },
  { id: 'xid_errors', label: 'XID errors', numeric: true, value: (n) => n.xid_errors },
];

function compare(a: number | string | null, b: number | string | null): number {
  // Missing values sort last whichever the direction.
  if (a === null) return b === null ? 0 : 1;
  if (b === null) return -1;
  return typeof a === 'number' && typeof b === 'number' ? a - b : String(a).localeCompare(String(b));
}

function Meter({ value, label }: { value: number | null; label: string }) {
  return (
    <Box sx={{ minWidth: 110 }}>
      <Typography variant="body2">{label}</Typography>
      {value !== null ? (
        <LinearProgress
          variant="determinate"
          value={Math.max(0, Math.min(100, value))}
          color={value > 90 ? 'error' : value > 70 ? 'warning' : 'primary'}
          aria-label={label}
          sx={{ height: 4, borderRadius: 2 }}
        />
      ) : null}
    </Box>
  );
}

function GpuCard({ group }: { group: GpuGroup }) {
  const memoryPct =
    group.memory_used_bytes !== null && group.memory_total_bytes ? (100 * group.memory_used_bytes) / group.memory_total_bytes : null;
  return (
    <Card variant="outlined" sx={{ flex: '1 1 300px', maxWidth: 420 }} data-testid="gpu-card" data-cluster={group.cluster} data-model={group.gpu_model}>
      <CardContent>
        <Typography variant="overline" color="text.secondary">
          {group.cluster}
        </Typography>
        <Typography variant="subtitle1" component="h3" fontWeight={600} gutterBottom>
          {group.gpu_model || 'Unknown model'}
        </Typography>
        <Stack direction="row" spacing={2} sx={{ mb: 1 }}>
          <Typography variant="body2" data-testid="gpu-card-gpus" data-value={group.gpus}>
            <b>{group.gpus}</b> GPUs
          </Typography>
          <Typography variant="body2">
            <b>{group.nodes}</b> nodes
          </Typography>
          {group.xid_errors > 0 ? <Chip size="small" color="error" label={`${group.xid_errors} with XID errors`} /> : null}
        </Stack>
        <Stack direction="row" spacing={2} flexWrap="wrap" useFlexGap>
          <Box data-testid="gpu-card-util" data-value={group.avg_utilisation_pct ?? ''}>
            <Meter value={group.avg_utilisation_pct} label={`Utilisation ${percent(group.avg_utilisation_pct)}`} />
          </Box>
          <Meter value={memoryPct} label={`Memory ${bytes(group.memory_used_bytes)} / ${bytes(group.memory_total_bytes)}`} />
          <Typography variant="body2">Hottest {fixed(group.max_temperature_c, 0, ' °C')}</Typography>
          <Typography variant="body2">Power {fixed(group.power_w, 0, ' W')}</Typography>
        </Stack>
      </CardContent>
    </Card>
  );
}

/** The clusters that did not answer (an element-level notice, not a page-wide error). */
function ClusterProblems({ clusters }: { clusters: Record<string, ClusterAnswer> | undefined }) {
  const failed = Object.entries(clusters ?? {}).filter(([, a]) => a.status === 'error' || a.status === 'timeout');
  if (failed.length === 0) return null;
  return (
    <Alert severity="warning" sx={{ mb: 2 }} data-testid="gpu-partial">
      Partial answer — {failed.map(([name, a]) => `${name}: ${a.status}${a.error ? ` (${a.error})` : ''}`).join('; ')}
    </Alert>
  );
}

export default function FleetGpusPage() {
  const { can } = useAccount();
  const [params, setParams] = useSearchParams();
  const nodes = useLoad(gpuNodes, 'nodes');
  const summary = useLoad(gpuSummary, 'summary');
  const reload = () => {
    nodes.reload();
    summary.reload();
  };
  // GPU_UPDATE comes per cluster: a round of them is one read. Polling fills in when none came
  // for a while (a server without GPU events, or a quiet stream).
  const lastEvent = useRef(0);
  const soon = useDebounced(reload, 1_000);
  const live = useFleetEvents(
    (event) => {
      if (event.type !== 'GPU_UPDATE') return;
      lastEvent.current = Date.now();
      soon();
    },
    () => {
      if (Date.now() - lastEvent.current >= POLL_MS) reload();
    },
    POLL_MS,
  );

  const sortBy = COLUMNS.find((c) => c.id === params.get('sort')) ?? COLUMNS[0]!;
  const descending = params.get('dir') === 'desc';
  const sorted = useMemo(() => {
    const list = [...(nodes.data?.nodes ?? [])];
    list.sort((a, b) => {
      const order = compare(sortBy.value(a), sortBy.value(b));
      const missing = sortBy.value(a) === null || sortBy.value(b) === null;
      return descending && !missing ? -order : order;
    });
    return list;
  }, [nodes.data, sortBy, descending]);
  const sortOn = (column: Column) =>
    setParams(
      (previous) => {
        const next = new URLSearchParams(previous);
        const flip = column.id === sortBy.id && !descending;
        next.set('sort', column.id);
        // Numbers first show the biggest; a second click turns the order round.
        next.set('dir', column.id === sortBy.id ? (flip ? 'desc' : 'asc') : column.numeric ? 'desc' : 'asc');
        return next;
      },
      { replace: true },
    );

  const totals = summary.data?.totals;
  const skipped = Object.entries(summary.data?.clusters ?? {}).filter(([, a]) => a.status === 'skipped').length;
  const empty = nodes.data && nodes.data.nodes.length === 0 && summary.data && summary.data.groups.length === 0;
  return (
    <Page title="GPUs" actions={<FleetLive state={live} />}>
      <ErrorNotice error={summary.error ?? nodes.error} onRetry={reload} />
      <ClusterProblems clusters={summary.data?.clusters ?? nodes.data?.clusters} />
      {(nodes.loading && !nodes.data && !nodes.error) || (summary.loading && !summary.data && !summary.error) ? <PageLoading /> : null}
      {empty ? (
        <Alert
          severity="info"
          data-testid="gpus-empty"
          action={
            can('create', 'Cluster') ? (
              <Button color="inherit" size="small" component={RouterLink} to="/fleet/clusters">
                Register a cluster
              </Button>
            ) : undefined
          }
        >
          No GPUs found. GPUs show here once a registered cluster's Prometheus scrapes NVIDIA's dcgm-exporter
          {skipped > 0 ? ` (${skipped} cluster${skipped === 1 ? '' : 's'} without DCGM were not asked)` : ''}.
        </Alert>
      ) : null}
      {totals && summary.data && summary.data.groups.length > 0 ? (
        <Stack direction="row" spacing={1} sx={{ mb: 2 }} flexWrap="wrap" useFlexGap data-testid="gpu-totals">
          <Chip variant="outlined" label={plural(totals.gpus, 'GPU')} data-testid="gpu-total-gpus" data-value={totals.gpus} />
          <Chip variant="outlined" label={plural(totals.nodes, 'node')} />
          {totals.clusters !== undefined ? <Chip variant="outlined" label={plural(totals.clusters, 'cluster')} /> : null}
          <Chip variant="outlined" label={`avg utilisation ${percent(totals.avg_utilisation_pct)}`} />
          <Chip variant="outlined" label={`memory ${bytes(totals.memory_used_bytes)} / ${bytes(totals.memory_total_bytes)}`} />
          <Chip variant="outlined" label={`power ${fixed(totals.power_w, 0, ' W')}`} />
          {totals.xid_errors > 0 ? <Chip color="error" label={`${plural(totals.xid_errors, 'GPU')} with XID errors`} /> : null}
        </Stack>
      ) : null}
      {summary.data && summary.data.groups.length > 0 ? (
        <Stack direction="row" spacing={2} useFlexGap flexWrap="wrap" sx={{ mb: 3 }} aria-label="GPUs by cluster and model" role="list">
          {summary.data.groups.map((g) => (
            <Box key={`${g.cluster}/${g.gpu_model}`} role="listitem" sx={{ display: 'contents' }}>
              <GpuCard group={g} />
            </Box>
          ))}
        </Stack>
      ) : null}
      {sorted.length > 0 ? (
        <>
          <Typography variant="h6" component="h2" gutterBottom>
            Nodes
          </Typography>
          <Table size="small" aria-label="GPU nodes" data-testid="gpu-nodes">
            <TableHead>
              <TableRow>
                {COLUMNS.map((c) => (
                  <TableCell key={c.id} align={c.numeric ? 'right' : 'left'} sortDirection={c.id === sortBy.id ? (descending ? 'desc' : 'asc') : false}>
                    <TableSortLabel
                      active={c.id === sortBy.id}
                      direction={c.id === sortBy.id && descending ? 'desc' : 'asc'}
                      onClick={() => sortOn(c)}
                      data-testid={`gpu-sort-${c.id}`}
                    >
                      {c.label}
                    </TableSortLabel>
                  </TableCell>
                ))}
              </TableRow>
            </TableHead>
            <TableBody>
              {sorted.map((n) => (
                <TableRow key={`${n.cluster}/${n.node}`} hover data-testid="gpu-node" data-cluster={n.cluster} data-node={n.node}>
                  <TableCell>{n.cluster}</TableCell>
                  <TableCell>{n.node || '(no node label)'}</TableCell>
                  <TableCell>{n.gpu_model}</TableCell>
                  <TableCell align="right" data-testid="gpu-node-count">
                    {n.gpu_count}
                  </TableCell>
                  <TableCell align="right" data-testid="gpu-node-util" data-value={n.utilisation_pct ?? ''}>
                    {percent(n.utilisation_pct)}
                  </TableCell>
                  <TableCell align="right" data-testid="gpu-node-memory">
                    {bytes(n.memory_used_bytes)} / {bytes(n.memory_total_bytes)}
                  </TableCell>
                  <TableCell align="right" data-testid="gpu-node-temp" data-value={n.temperature_c ?? ''}>
                    {fixed(n.temperature_c, 0, ' °C')}
                  </TableCell>
                  <TableCell align="right" data-testid="gpu-node-power" data-value={n.power_w ?? ''}>
                    {fixed(n.power_w, 1, ' W')}
                  </TableCell>
                  <TableCell align="right" data-testid="gpu-node-xid" data-value={n.xid_errors}>
                    {n.xid_errors > 0 ? <Chip size="small" color="error" label={n.xid_errors} /> : 0}
                  </TableCell>
                </TableRow>
              ))}
            </TableBody>
          </Table>
        </>
      ) : null}
    </Page>
  );
}
