// The services with latency SLOs from their access logs (`/services`, docs/user/ui.md "Services
// and latency SLOs"): the user's own services first, then the others they may read, each with the
// P95 of its last 5-minute bucket against its 7-day baseline and threshold, breaches in the last
// 24 h, the last bucket's requests and errors, and the data-quality status. The name filter
// (`?q=`) and "Owned only" (`?owned=1`) are kept in the address. Refreshed every minute.
import { useEffect, useMemo, useState } from 'react';
import { Link as RouterLink, useSearchParams } from 'react-router-dom';
import Alert from '@mui/material/Alert';
import Box from '@mui/material/Box';
import Chip from '@mui/material/Chip';
import FormControlLabel from '@mui/material/FormControlLabel';
import Link from '@mui/material/Link';
import Stack from '@mui/material/Stack';
import Switch from '@mui/material/Switch';
import Table from '@mui/material/Table';
import TableBody from '@mui/material/TableBody';
import TableCell from '@mui/material/TableCell';
import TableHead from '@mui/material/TableHead';
import TableRow from '@mui/material/TableRow';
import TextField from '@mui/material/TextField';
import Tooltip from '@mui/material/Tooltip';
import Typography from '@mui/material/Typography';
import { useLoad } from '../api/useLoad';
import { formatTime, useAccount } from '../components/Account';
import { ErrorNotice } from '../components/ErrorNotice';
import { Page, PageLoading } from '../components/Layout';
import { listServices, type Service } from '../services/api';
import { ms, ownedFirst } from '../services/format';
import { Owners, QualityChip } from '../services/chips';

const REFRESH_MS = 60_000;

export default function ServicesPage() {
  const { preferences } = useAccount();
  const [params, setParams] = useSearchParams();
  const query = params.get('q') ?? '';
  const ownedOnly = params.get('owned') === '1';
  const services = useLoad(() => listServices(ownedOnly), ownedOnly ? 'owned' : 'all');
  const { reload } = services;
  useEffect(() => {
    const timer = setInterval(reload, REFRESH_MS);
    return () => clearInterval(timer);
  }, [reload]);

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
  // The filter is typed: it goes to the address once typing pauses.
  const [text, setText] = useState(query);
  useEffect(() => setText(query), [query]);
  useEffect(() => {
    if (text === query) return undefined;
    const timer = setTimeout(() => setParam('q', text.trim()), 300);
    return () => clearTimeout(timer);
  });

  const rows = useMemo(() => {
    const needle = (text.trim() || query).toLowerCase();
    return ownedFirst((services.data ?? []).filter((s) => s.id.toLowerCase().includes(needle)));
  }, [services.data, text, query]);
  const all = services.data ?? [];

  return (
    <Page title="Services">
      <Stack direction="row" spacing={2} sx={{ mb: 2 }} alignItems="center" flexWrap="wrap" useFlexGap role="search" aria-label="Filter services">
        <TextField
          size="small"
          label="Service"
          placeholder="Filter by name"
          value={text}
          onChange={(e) => setText(e.target.value)}
          onKeyDown={(e) => (e.key === 'Enter' ? setParam('q', text.trim()) : undefined)}
          inputProps={{ 'data-testid': 'services-filter' }}
          sx={{ minWidth: 240 }}
        />
        <FormControlLabel
          control={<Switch checked={ownedOnly} onChange={(e) => setParam('owned', e.target.checked ? '1' : '')} inputProps={{ 'aria-label': 'Owned only' }} data-testid="services-owned-only" />}
          label="Owned only"
        />
        <Box sx={{ flex: 1 }} />
        {services.data ? (
          <Typography variant="body2" color="text.secondary" data-testid="services-count">
            {rows.length} shown{rows.length < all.length ? ` of ${all.length}` : ''} · {all.filter((s) => s.owned).length} owned
          </Typography>
        ) : null}
      </Stack>
      <ErrorNotice error={services.error} onRetry={services.reload} />
      {services.loading && !services.data ? <PageLoading /> : null}
      {services.data && all.length === 0 ? (
        <Alert severity="info" data-testid="services-empty">
          {ownedOnly ? (
            <>You own no service. Owners are set in the configuration or by group claims; clear “Owned only” to see the services you may read.</>
          ) : (
            <>
              No services yet. Ship access logs to Pharos with Promtail, Grafana Alloy, Fluent Bit, Vector or a Loki client pointed at{' '}
              <code>POST /loki/api/v1/push</code>, with a <code>service</code> stream label and the latency in each line (nginx with{' '}
              <code>$request_time</code>, Envoy, JSON <code>latency_ms</code>…): every service then gets its P95 per 5 minutes here. See “Latency SLOs from
              logs” in the user documentation.
            </>
          )}
        </Alert>
      ) : null}
      {services.data && all.length > 0 && rows.length === 0 ? (
        <Alert severity="info" data-testid="services-empty">
          No service matches “{text.trim() || query}”.
        </Alert>
      ) : null}
      {rows.length > 0 ? <ServicesTable rows={rows} timeOf={(iso) => formatTime(iso, preferences)} /> : null}
    </Page>
  );
}

function ServicesTable({ rows, timeOf }: { rows: Service[]; timeOf: (iso: string) => string }) {
  return (
    <Table size="small" aria-label="Services" data-testid="services">
      <TableHead>
        <TableRow>
          <TableCell>Service</TableCell>
          <TableCell>Project</TableCell>
          <TableCell>Owners</TableCell>
          <TableCell align="right">P95 (last 5 min)</TableCell>
          <TableCell align="right">Baseline P95</TableCell>
          <TableCell align="right">Threshold</TableCell>
          <TableCell align="right">Breaches 24 h</TableCell>
          <TableCell align="right">Requests / errors</TableCell>
          <TableCell>Quality</TableCell>
        </TableRow>
      </TableHead>
      <TableBody>
        {rows.map((s) => {
          const last = s.last_bucket ?? undefined;
          const over = last?.p95_ms !== null && last?.p95_ms !== undefined && last.p95_ms > s.threshold_ms;
          return (
            <TableRow key={s.id} hover data-testid="service-row" data-service={s.id} data-owned={s.owned ? 'true' : 'false'}>
              <TableCell>
                <Stack direction="row" spacing={1} alignItems="center">
                  <Link component={RouterLink} to={`/services/${encodeURIComponent(s.id)}`} fontWeight={600} data-testid="service-link">
                    {s.id}
                  </Link>
                  {s.owned ? <Chip size="small" color="primary" variant="outlined" label="owned" /> : null}
                </Stack>
              </TableCell>
              <TableCell>{s.project ?? '—'}</TableCell>
              <TableCell>
                <Owners owners={s.owners ?? []} />
              </TableCell>
              <TableCell align="right" sx={{ whiteSpace: 'nowrap', color: over ? 'error.main' : undefined, fontWeight: over ? 600 : undefined }}>
                <Tooltip title={last ? `Bucket starting ${timeOf(last.start)}` : 'No request yet'}>
                  <span data-testid="service-p95">{ms(last?.p95_ms)}</span>
                </Tooltip>
              </TableCell>
              <TableCell align="right" sx={{ whiteSpace: 'nowrap' }} data-testid="service-baseline">
                {ms(s.baseline_p95_ms)}
              </TableCell>
              <TableCell align="right" sx={{ whiteSpace: 'nowrap' }} data-testid="service-threshold">
                {ms(s.threshold_ms)}
              </TableCell>
              <TableCell align="right" data-testid="service-breaches" data-value={s.breaches_24h}>
                {s.breaches_24h > 0 ? (
                  <Tooltip title={`${s.breaches_24h} five-minute buckets with the P95 above the threshold in the last 24 h`}>
                    <Chip size="small" color="error" label={s.breaches_24h} />
                  </Tooltip>
                ) : s.breaches_24h}
              </TableCell>
              <TableCell align="right" sx={{ whiteSpace: 'nowrap' }} data-testid="service-traffic">
                {last ? `${last.count} / ${last.errors}` : '—'}
              </TableCell>
              <TableCell>
                <QualityChip quality={s.quality} />
              </TableCell>
            </TableRow>
          );
        })}
      </TableBody>
    </Table>
  );
}
