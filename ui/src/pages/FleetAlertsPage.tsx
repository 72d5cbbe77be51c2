// The fleet's alerts (`/fleet/alerts`, docs/user/fleet.md "The fleet pages"): what the clusters'
// Alertmanagers sent, newest change first, with filters (cluster, severity, state, namespace,
// time window) kept in the address so a copied link opens the same view. Live: a new ALERT_FIRED
// adds its row and an ALERT_RESOLVED updates it, without a reload.
import { useEffect, useMemo, useRef, useState } from 'react';
import { Link as RouterLink, useSearchParams } from 'react-router-dom';
import { keyframes } from '@emotion/react';
import Alert from '@mui/material/Alert';
import Box from '@mui/material/Box';
import Button from '@mui/material/Button';
import Link from '@mui/material/Link';
import MenuItem from '@mui/material/MenuItem';
import Stack from '@mui/material/Stack';
import Table from '@mui/material/Table';
import TableBody from '@mui/material/TableBody';
import TableCell from '@mui/material/TableCell';
import TableHead from '@mui/material/TableHead';
import TableRow from '@mui/material/TableRow';
import TextField from '@mui/material/TextField';
import Typography from '@mui/material/Typography';
import { useLoad } from '../api/useLoad';
import { formatTime, useAccount } from '../components/Account';
import { ErrorNotice } from '../components/ErrorNotice';
import { Page, PageLoading } from '../components/Layout';
import { alertKey, listAlerts, listClusters, type FleetAlert } from '../fleet/api';
import { useDebounced, useFleetEvents } from '../fleet/events';
import { ago } from '../fleet/format';
import { AlertStateChip, FleetLive, SeverityChip } from '../fleet/StatusChip';

const flash = keyframes`
  from { background-color: rgba(255, 193, 7, 0.35); }
  to { background-color: transparent; }
`;

const WINDOWS: { id: string; label: string; seconds?: number }[] = [
  { id: '', label: 'Any time' },
  { id: '15m', label: 'Last 15 minutes', seconds: 900 },
  { id: '1h', label: 'Last hour', seconds: 3600 },
  { id: '6h', label: 'Last 6 hours', seconds: 21_600 },
  { id: '24h', label: 'Last 24 hours', seconds: 86_400 },
  { id: '7d', label: 'Last 7 days', seconds: 604_800 },
];
const SEVERITIES = ['critical', 'warning', 'info'];
const FILTERS = ['cluster', 'severity', 'state', 'namespace', 'window'] as const;

/** Only http(s) links from an alert's generatorURL (never `javascript:` or the like). */
const safeLink = (url: string | null | undefined) => (url && /^https?:\/\//i.test(url) ? url : undefined);

/** The last state change of an alert. */
const changedAt = (a: FleetAlert) => a.history?.[a.history.length - 1]?.at ?? a.last_seen ?? a.starts_at ?? undefined;

export default function FleetAlertsPage() {
  const { preferences } = useAccount();
  const [params, setParams] = useSearchParams();
  const filter = Object.fromEntries(FILTERS.map((f) => [f, params.get(f) ?? ''])) as Record<(typeof FILTERS)[number], string>;
  const key = FILTERS.map((f) => `${f}=${filter[f]}`).join('&');
  const alerts = useLoad(() => {
    const seconds = WINDOWS.find((w) => w.id === filter.window)?.seconds;
    return listAlerts({
      cluster: filter.cluster,
      severity: filter.severity,
      state: filter.state,
      namespace: filter.namespace,
      since: seconds === undefined ? undefined : Math.floor(Date.now() / 1000) - seconds,
    });
  }, key);
  const clusters = useLoad(listClusters, 'clusters');
  const soon = useDebounced(alerts.reload, 200);
  const live = useFleetEvents((event) => (event.type.startsWith('ALERT_') ? soon() : undefined), alerts.reload);

  // The namespace is typed: it goes to the address (and the server) once typing pauses.
  const [namespace, setNamespace] = useState(filter.namespace);
  useEffect(() => setNamespace(filter.namespace), [filter.namespace]);
  const setParam = (name: string, value: string) =>
    setParams(
      (previous) => {
        const next = new URLSearchParams(previous);
        if (value) next.set(name, value);
        else next.delete(name);
        return next;
      },
      { replace: true },
    );
  useEffect(() => {
    if (namespace === filter.namespace) return undefined;
    const timer = setTimeout(() => setParam('namespace', namespace.trim()), 400);
    return () => clearTimeout(timer);
  });

  const severities = useMemo(() => {
    const seen = new Set(SEVERITIES);
    for (const a of alerts.data?.alerts ?? []) if (a.severity) seen.add(a.severity);
    if (filter.severity) seen.add(filter.severity);
    return [...seen];
  }, [alerts.data, filter.severity]);
  const clusterNames = useMemo(() => {
    const names = new Set((clusters.data ?? []).map((c) => c.name));
    for (const a of alerts.data?.alerts ?? []) names.add(a.cluster);
    if (filter.cluster) names.add(filter.cluster);
    return [...names].sort();
  }, [clusters.data, alerts.data, filter.cluster]);
  const filtered = FILTERS.some((f) => filter[f]);
  const rows = alerts.data?.alerts ?? [];
  // Rows that arrived or changed state since the previous read are tinted for a moment.
  // (Not after a change of filters: then every row is simply another selection.)
  const previous = useRef<{ key: string; states: Map<string, string> } | undefined>(undefined);
  const fresh = useMemo(() => {
    if (alerts.loading || !alerts.data) return new Set<string>();
    const before = previous.current?.key === key ? previous.current.states : undefined;
    const now = new Map(rows.map((a) => [alertKey(a), a.state]));
    previous.current = { key, states: now };
    if (before === undefined) return new Set<string>();
    return new Set([...now].filter(([k, state]) => before.get(k) !== state).map(([k]) => k));
    // Recomputed per answer only.
  }, [alerts.data, alerts.loading]);
  const firing = rows.filter((a) => a.state === 'firing').length;

  return (
    <Page title="Alerts" actions={<FleetLive state={live} />}>
      <Stack direction="row" spacing={1} sx={{ mb: 2 }} flexWrap="wrap" useFlexGap role="search" aria-label="Filter alerts">
        <TextField select size="small" label="Cluster" value={filter.cluster} onChange={(e) => setParam('cluster', e.target.value)} sx={{ minWidth: 160 }}>
          <MenuItem value="">Any cluster</MenuItem>
          {clusterNames.map((c) => (
            <MenuItem key={c} value={c}>
              {c}
            </MenuItem>
          ))}
        </TextField>
        <TextField select size="small" label="Severity" value={filter.severity} onChange={(e) => setParam('severity', e.target.value)} sx={{ minWidth: 140 }}>
          <MenuItem value="">Any severity</MenuItem>
          {severities.map((s) => (
            <MenuItem key={s} value={s}>
              {s}
            </MenuItem>
          ))}
        </TextField>
        <TextField select size="small" label="State" value={filter.state} onChange={(e) => setParam('state', e.target.value)} sx={{ minWidth: 130 }}>
          <MenuItem value="">Any state</MenuItem>
          <MenuItem value="firing">firing</MenuItem>
          <MenuItem value="resolved">resolved</MenuItem>
        </TextField>
        <TextField
          size="small"
          label="Namespace"
          value={namespace}
          onChange={(e) => setNamespace(e.target.value)}
          onKeyDown={(e) => (e.key === 'Enter' ? setParam('namespace', namespace.trim()) : undefined)}
          inputProps={{ 'data-testid': 'alerts-filter-namespace' }}
          sx={{ minWidth: 160 }}
        />
        <TextField select size="small" label="Changed" value={filter.window} onChange={(e) => setParam('window', e.target.value)} sx={{ minWidth: 170 }}>
          {WINDOWS.map((w) => (
            <MenuItem key={w.id} value={w.id}>
              {w.label}
            </MenuItem>
          ))}
        </TextField>
        {filtered ? (
          <Button size="small" onClick={() => setParams({}, { replace: true })}>
            Clear filters
          </Button>
        ) : null}
        <Box sx={{ flex: 1 }} />
        {alerts.data ? (
          <Typography variant="body2" color="text.secondary" sx={{ alignSelf: 'center' }} data-testid="alerts-count">
            {rows.length} shown{alerts.data.total > rows.length ? ` of ${alerts.data.total}` : ''} · {firing} firing
          </Typography>
        ) : null}
      </Stack>
      <ErrorNotice error={alerts.error} onRetry={alerts.reload} />
      {alerts.loading && !alerts.data ? <PageLoading /> : null}
      {alerts.data && rows.length === 0 ? (
        <Alert severity="info" data-testid="alerts-empty">
          {filtered ? (
            'No alert matches these filters.'
          ) : (
            <>
              No alerts yet. Add a webhook receiver to each cluster's Alertmanager pointing at{' '}
              <code>/api/v1/alerts/webhook?cluster=NAME</code> (see <Link component={RouterLink} to="/fleet/clusters">the clusters</Link>).
            </>
          )}
        </Alert>
      ) : null}
      {rows.length > 0 ? (
        <Table size="small" aria-label="Alerts" data-testid="alerts">
          <TableHead>
            <TableRow>
              <TableCell>State</TableCell>
              <TableCell>Severity</TableCell>
              <TableCell>Alert</TableCell>
              <TableCell>Cluster</TableCell>
              <TableCell>Namespace</TableCell>
              <TableCell>Started</TableCell>
              <TableCell>Ended</TableCell>
              <TableCell>Changed</TableCell>
            </TableRow>
          </TableHead>
          <TableBody>
            {rows.map((a) => (
              <TableRow
                key={alertKey(a)}
                hover
                data-testid="alert-row"
                data-fingerprint={a.fingerprint}
                data-cluster={a.cluster}
                data-alertname={a.alertname ?? ''}
                data-state={a.state}
                data-fresh={fresh.has(alertKey(a)) ? 'true' : undefined}
                sx={fresh.has(alertKey(a)) ? { animation: `${flash} 3s ease-out` } : undefined}
              >
                <TableCell>
                  <AlertStateChip state={a.state} />
                </TableCell>
                <TableCell>
                  <SeverityChip severity={a.severity} />
                </TableCell>
                <TableCell sx={{ maxWidth: 360 }}>
                  <Typography variant="body2" fontWeight={600}>
                    {safeLink(a.generator_url) ? (
                      <Link href={safeLink(a.generator_url)} target="_blank" rel="noreferrer">
                        {a.alertname ?? a.labels.alertname ?? a.fingerprint}
                      </Link>
                    ) : (
                      (a.alertname ?? a.labels.alertname ?? a.fingerprint)
                    )}
                  </Typography>
                  <Typography variant="body2" color="text.secondary" data-testid="alert-summary">
                    {a.annotations?.summary ?? a.annotations?.description ?? ''}
                  </Typography>
                </TableCell>
                <TableCell>{a.cluster}</TableCell>
                <TableCell>{a.namespace ?? ''}</TableCell>
                <TableCell sx={{ whiteSpace: 'nowrap' }} data-testid="alert-starts">
                  {formatTime(a.starts_at, preferences)}
                </TableCell>
                <TableCell sx={{ whiteSpace: 'nowrap' }} data-testid="alert-ends">
                  {a.ends_at ? formatTime(a.ends_at, preferences) : '—'}
                </TableCell>
                <TableCell sx={{ whiteSpace: 'nowrap' }} title={changedAt(a)}>
                  {ago(changedAt(a))}
                </TableCell>
              </TableRow>
            ))}
          </TableBody>
        </Table>
      ) : null}
    </Page>
  );
}
