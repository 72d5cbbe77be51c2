// One service's latency SLO (`/services/:id`, docs/user/ui.md "Services and latency SLOs"): its
// owners, project and threshold; the latency chart over the last 24 h or 7 days (`?range=`) with
// P50/P95/P99, the baseline, the threshold line and the breaches as red bands, the same breaches
// listed below it; requests and errors per bucket; the data-quality report; the threshold editor
// (for those who may change it) and the history of changes. Refreshed every minute.
import { useEffect, useMemo, useState, type ReactNode } from 'react';
import { Link as RouterLink, useParams, useSearchParams } from 'react-router-dom';
import Alert from '@mui/material/Alert';
import Box from '@mui/material/Box';
import Button from '@mui/material/Button';
import Chip from '@mui/material/Chip';
import FormControlLabel from '@mui/material/FormControlLabel';
import LinearProgress from '@mui/material/LinearProgress';
import Link from '@mui/material/Link';
import List from '@mui/material/List';
import ListItem from '@mui/material/ListItem';
import Paper from '@mui/material/Paper';
import Stack from '@mui/material/Stack';
import Switch from '@mui/material/Switch';
import Table from '@mui/material/Table';
import TableBody from '@mui/material/TableBody';
import TableCell from '@mui/material/TableCell';
import TableHead from '@mui/material/TableHead';
import TableRow from '@mui/material/TableRow';
import TextField from '@mui/material/TextField';
import ToggleButton from '@mui/material/ToggleButton';
import ToggleButtonGroup from '@mui/material/ToggleButtonGroup';
import Tooltip from '@mui/material/Tooltip';
import Typography from '@mui/material/Typography';
import { ApiError, messageOf } from '../api/http';
import { useLoad } from '../api/useLoad';
import { formatTime, timeZoneOf, useAccount } from '../components/Account';
import { ErrorNotice } from '../components/ErrorNotice';
import { Page, PageLoading } from '../components/Layout';
import { getLatency, getService, getThreshold, setThreshold, type AlertThreshold, type Quality, type Service } from '../services/api';
import { Owners, QualityChip } from '../services/chips';
import { breachRuns, ms } from '../services/format';
import { LatencyChart, TrafficChart } from '../services/LatencyChart';

const REFRESH_MS = 60_000;
const RANGES = { '24h': 86_400, '7d': 7 * 86_400 } as const;
type Range = keyof typeof RANGES;

/** Only paths of this UI (never another origin or a `javascript:` link). */
const uiPath = (path: string | null | undefined) => (path && path.startsWith('/') && !path.startsWith('//') ? path : undefined);

function Section({ title, children, testId }: { title: string; children: ReactNode; testId?: string }) {
  return (
    <Paper variant="outlined" sx={{ p: 2, mb: 2 }} data-testid={testId}>
      <Typography variant="h6" component="h2" sx={{ mb: 1, fontSize: '1.05rem' }}>
        {title}
      </Typography>
      {children}
    </Paper>
  );
}

export default function ServicePage() {
  const { id = '' } = useParams();
  const { preferences } = useAccount();
  const [params, setParams] = useSearchParams();
  const range: Range = params.get('range') === '24h' ? '24h' : '7d';
  const [lastWeek, setLastWeek] = useState(false);

  const service = useLoad(() => getService(id), id);
  // The rest once the service answered: an unknown service is one refusal, not three.
  const ready = service.data?.id === id;
  const latency = useLoad(async () => {
    if (!ready) return undefined;
    const to = Math.floor(Date.now() / 1000);
    const from = to - RANGES[range];
    const answer = await getLatency(id, from, to);
    const fromMs = Date.parse(answer.from);
    const toMs = Date.parse(answer.to);
    return { ...answer, fromMs: Number.isNaN(fromMs) ? from * 1000 : fromMs, toMs: Number.isNaN(toMs) ? to * 1000 : toMs };
  }, ready ? `${id}|${range}` : '');
  const thresholdLoad = useLoad(() => (ready ? getThreshold(id) : Promise.resolve(undefined)), ready ? id : '');
  // The newest of the loaded threshold and the one a save answered with.
  const [threshold, setThresholdState] = useState<AlertThreshold | undefined>(undefined);
  useEffect(() => setThresholdState(thresholdLoad.data), [thresholdLoad.data]);

  // Every minute: the same range again, ending now.
  const reloads = [service.reload, latency.reload, thresholdLoad.reload];
  useEffect(() => {
    const timer = setInterval(() => reloads.forEach((reload) => reload()), REFRESH_MS);
    return () => clearInterval(timer);
    // The reload functions are stable.
  }, []);

  const notFound = service.error instanceof ApiError && service.error.status === 404;
  const timeOf = (iso: string | number) => formatTime(typeof iso === 'number' ? new Date(iso).toISOString() : iso, preferences);
  const stepSeconds = latency.data?.step_seconds || 300;
  const buckets = latency.data?.buckets;
  const runs = useMemo(() => breachRuns(buckets ?? [], stepSeconds), [buckets, stepSeconds]);

  if (notFound) {
    return (
      <Page title={id}>
        <Alert severity="warning" data-testid="service-not-found">
          Service “{id}” was not found, or it is not yours to read. <Link component={RouterLink} to="/services">All your services</Link>
        </Alert>
      </Page>
    );
  }
  const s = service.data;
  if (!s) {
    return (
      <Page title={id}>
        <ErrorNotice error={service.error} onRetry={service.reload} />
        {service.loading ? <PageLoading /> : null}
      </Page>
    );
  }
  const thresholdMs = threshold?.threshold_ms ?? latency.data?.threshold_ms ?? s.threshold_ms;
  const dashboard = uiPath(s.dashboard);
  const quality: Quality = latency.data?.quality ?? s.quality;
  const setRange = (next: Range) =>
    setParams(
      (previous) => {
        const p = new URLSearchParams(previous);
        if (next === '7d') p.delete('range');
        else p.set('range', next);
        return p;
      },
      { replace: true },
    );

  return (
    <Page
      title={
        <>
          <Link component={RouterLink} to="/services" color="inherit" underline="hover">
            Services
          </Link>{' '}
          / <span data-testid="service-title">{s.id}</span>
        </>
      }
      actions={
        <Stack direction="row" spacing={1} alignItems="center">
          <ToggleButtonGroup size="small" exclusive value={range} onChange={(_, next: Range | null) => (next ? setRange(next) : undefined)} aria-label="Time range">
            <ToggleButton value="24h" data-testid="range-24h">
              24 h
            </ToggleButton>
            <ToggleButton value="7d" data-testid="range-7d">
              7 days
            </ToggleButton>
          </ToggleButtonGroup>
          {dashboard ? (
            <Button component={RouterLink} to={dashboard} variant="outlined" size="small" data-testid="service-dashboard">
              Open dashboard
            </Button>
          ) : null}
        </Stack>
      }
    >
      <ServiceHeader service={s} thresholdMs={thresholdMs} quality={quality} />
      <ErrorNotice error={service.error} onRetry={service.reload} />

      <Section title="Latency" testId="latency-section">
        <Box sx={{ height: 4, mb: 1 }}>{latency.loading ? <LinearProgress aria-label="Loading latency" /> : null}</Box>
        <ErrorNotice error={latency.error} onRetry={latency.reload} />
        {latency.data ? (
          <>
            <LatencyChart
              buckets={latency.data.buckets}
              stepSeconds={stepSeconds}
              fromMs={latency.data.fromMs}
              toMs={latency.data.toMs}
              timeZone={timeZoneOf(preferences)}
              thresholdMs={thresholdMs}
              runs={runs}
              lastWeek={lastWeek}
            />
            <Stack direction="row" alignItems="center" spacing={2} flexWrap="wrap" useFlexGap>
              <FormControlLabel
                control={<Switch size="small" checked={lastWeek} onChange={(e) => setLastWeek(e.target.checked)} data-testid="toggle-last-week" />}
                label="Same time last week"
              />
              <Typography variant="body2" color="text.secondary">
                Baseline: {latency.data.baseline ?? 'median of the 5-minute P95s over the previous 7 days'}. Buckets of {Math.round(stepSeconds / 60)} min
                {latency.data.buckets.length === 0 ? '; no requests in this range' : ''}. Updated{' '}
                <span data-testid="latency-updated">{timeOf(latency.data.to)}</span>.
              </Typography>
            </Stack>
            <Typography variant="subtitle2" component="h3" sx={{ mt: 2 }}>
              Breaches
            </Typography>
            {runs.length === 0 ? (
              <Typography variant="body2" color="text.secondary" data-testid="no-breaches">
                No breaches in this range.
              </Typography>
            ) : (
              <List dense disablePadding aria-label="Breaches" data-testid="breaches">
                {[...runs].reverse().map((run) => (
                  <ListItem
                    key={run.startMs}
                    disableGutters
                    data-testid="breach"
                    data-start={new Date(run.startMs).toISOString()}
                    data-end={new Date(run.endMs).toISOString()}
                    data-peak={run.peakP95}
                  >
                    <Box component="span" sx={{ width: 10, height: 10, borderRadius: '2px', bgcolor: 'error.main', opacity: 0.6, mr: 1, flexShrink: 0 }} />
                    <Typography variant="body2">
                      {timeOf(run.startMs)} – {timeOf(run.endMs)}, peak P95 <b>{ms(run.peakP95)}</b> ({run.buckets} × {Math.round(stepSeconds / 60)} min)
                    </Typography>
                  </ListItem>
                ))}
              </List>
            )}
            <Typography variant="subtitle2" component="h3" sx={{ mt: 2 }}>
              Requests and errors per bucket
            </Typography>
            <TrafficChart
              buckets={latency.data.buckets}
              stepSeconds={stepSeconds}
              fromMs={latency.data.fromMs}
              toMs={latency.data.toMs}
              timeZone={timeZoneOf(preferences)}
            />
          </>
        ) : latency.loading ? (
          <PageLoading />
        ) : null}
      </Section>

      <Stack direction={{ xs: 'column', md: 'row' }} spacing={2} alignItems="stretch">
        <Box sx={{ flex: 1, minWidth: 0 }}>
          <Section title="Alert threshold" testId="threshold-section">
            <ThresholdEditor
              service={s}
              thresholdMs={thresholdMs}
              onSaved={(answer) => {
                setThresholdState(answer);
                latency.reload();
                service.reload();
              }}
            />
            <ErrorNotice error={thresholdLoad.error} onRetry={thresholdLoad.reload} />
            <ThresholdHistory threshold={threshold} timeOf={timeOf} />
          </Section>
        </Box>
        <Box sx={{ flex: 1, minWidth: 0 }}>
          <QualityReport quality={quality} />
        </Box>
      </Stack>
    </Page>
  );
}

function Fact({ label, children }: { label: string; children: ReactNode }) {
  return (
    <Box>
      <Typography variant="caption" color="text.secondary" component="div">
        {label}
      </Typography>
      <Box sx={{ typography: 'body2' }}>{children}</Box>
    </Box>
  );
}

function ServiceHeader({ service: s, thresholdMs, quality }: { service: Service; thresholdMs: number; quality: Quality }) {
  const last = s.last_bucket ?? undefined;
  return (
    <Stack direction="row" spacing={4} sx={{ mb: 2 }} flexWrap="wrap" useFlexGap data-testid="service-header">
      <Fact label="Owners">
        <Owners owners={s.owners ?? []} />
      </Fact>
      <Fact label="Project">
        {s.project ? (
          <Link component={RouterLink} to={`/projects/${encodeURIComponent(s.project)}`}>
            {s.project}
          </Link>
        ) : (
          '—'
        )}
      </Fact>
      <Fact label="Threshold">
        <span data-testid="service-threshold">{ms(thresholdMs)}</span>
      </Fact>
      <Fact label="P95 (last 5 min)">
        <span data-testid="service-p95">{ms(last?.p95_ms)}</span>
      </Fact>
      <Fact label="Baseline P95">
        <span data-testid="service-baseline">{ms(s.baseline_p95_ms)}</span>
      </Fact>
      <Fact label="Breaches 24 h">
        {s.breaches_24h > 0 ? (
          <Tooltip title={`${s.breaches_24h} five-minute buckets with the P95 above the threshold in the last 24 h`}>
            <Chip size="small" color="error" label={s.breaches_24h} />
          </Tooltip>
        ) : (
          s.breaches_24h
        )}
      </Fact>
      {s.objective ? (
        <Fact label="Objective">
          {`${+(s.objective.target * 100).toFixed(3)} % under ${ms(s.objective.threshold_ms)} over ${s.objective.window_days} d`}
        </Fact>
      ) : null}
      {s.objective && s.burn_rates && Object.keys(s.burn_rates).length > 0 ? (
        <Fact label="Budget burn">
          <BurnRates rates={s.burn_rates} />
        </Fact>
      ) : null}
      {s.sources && s.sources.length > 0 ? <Fact label="Sources">{s.sources.join(', ')}</Fact> : null}
      <Fact label="Quality">
        <QualityChip quality={quality} />
      </Fact>
    </Stack>
  );
}

/** The windows shown, and the pairs the built-in alerts fire on (docs/user/latency-slos.md). */
const BURN_WINDOWS = ['5m', '30m', '1h', '2h', '6h', '1d', '3d'];
const PAGE_PAIRS: Array<[string, string, number]> = [['1h', '5m', 14.4], ['6h', '30m', 6]];
const TICKET_PAIRS: Array<[string, string, number]> = [['1d', '2h', 3], ['3d', '6h', 1]];

function BurnRates({ rates }: { rates: Record<string, number> }) {
  const over = (pairs: Array<[string, string, number]>) =>
    pairs.some(([long, short, factor]) => (rates[long] ?? 0) > factor && (rates[short] ?? 0) > factor);
  const level = over(PAGE_PAIRS) ? 'page' : over(TICKET_PAIRS) ? 'ticket' : 'ok';
  const shown = BURN_WINDOWS.filter((w) => rates[w] !== undefined);
  const text = shown.map((w) => `${w} ×${rates[w].toFixed(rates[w] < 10 ? 2 : 1)}`).join(' · ');
  return (
    <Tooltip title="Error budget burn rate per window: 1 spends the budget exactly over the objective's window. Pages at 1 h and 5 m above 14.4 or 6 h and 30 m above 6; tickets at 1 d and 2 h above 3 or 3 d and 6 h above 1.">
      <Chip
        size="small"
        variant="outlined"
        color={level === 'page' ? 'error' : level === 'ticket' ? 'warning' : 'default'}
        label={text}
        data-testid="burn-rates"
        data-level={level}
      />
    </Tooltip>
  );
}

function ThresholdEditor({ service, thresholdMs, onSaved }: { service: Service; thresholdMs: number; onSaved: (answer: AlertThreshold) => void }) {
  const [value, setValue] = useState(String(thresholdMs));
  const [problem, setProblem] = useState<string | undefined>(undefined);
  const [saving, setSaving] = useState(false);
  const [saved, setSaved] = useState(false);
  // A new threshold from elsewhere (a save, a refresh) replaces an untouched field.
  useEffect(() => setValue(String(thresholdMs)), [thresholdMs]);
  const disabled = !service.can_edit;
  const save = async () => {
    const number = Number(value);
    if (value.trim() === '' || !Number.isFinite(number)) {
      setProblem('Enter the threshold in milliseconds.');
      return;
    }
    setSaving(true);
    setSaved(false);
    try {
      const answer = await setThreshold(service.id, number);
      setProblem(undefined);
      setSaved(true);
      onSaved(answer);
    } catch (error) {
      // The server's message as it is ("threshold_ms must be between 50 and 1000 ms; got 49").
      setProblem(messageOf(error));
    } finally {
      setSaving(false);
    }
  };
  const owners = service.owners?.length ? service.owners.join(', ') : 'nobody yet';
  return (
    <Box
      component="form"
      onSubmit={(e) => {
        e.preventDefault();
        void save();
      }}
      sx={{ mb: 2 }}
    >
      <Stack direction="row" spacing={1} alignItems="flex-start">
        <TextField
          size="small"
          type="number"
          label="P95 threshold (ms)"
          value={value}
          disabled={disabled || saving}
          onChange={(e) => {
            setValue(e.target.value);
            setSaved(false);
          }}
          error={problem !== undefined}
          helperText={
            problem ?? (disabled ? `Only the service's owners (${owners}) and admins can change the threshold.` : 'Between 50 and 1000 ms; a 5-minute P95 above it is a breach.')
          }
          FormHelperTextProps={{ 'data-testid': problem !== undefined ? 'threshold-error' : 'threshold-hint' } as object}
          inputProps={{ 'data-testid': 'threshold-input', step: 'any' }}
          sx={{ width: 320 }}
        />
        <Button type="submit" variant="contained" disabled={disabled || saving} data-testid="threshold-save">
          Save
        </Button>
      </Stack>
      {saved ? (
        <Typography variant="body2" color="success.main" role="status" data-testid="threshold-saved" sx={{ mt: 1 }}>
          Saved: the threshold is {ms(thresholdMs)}.
        </Typography>
      ) : null}
    </Box>
  );
}

function ThresholdHistory({ threshold, timeOf }: { threshold: AlertThreshold | undefined; timeOf: (iso: string) => string }) {
  if (!threshold) return null;
  if (threshold.history.length === 0) {
    return (
      <Typography variant="body2" color="text.secondary" data-testid="threshold-history-empty">
        The threshold has not been changed since the service appeared.
      </Typography>
    );
  }
  return (
    <Table size="small" aria-label="Threshold history" data-testid="threshold-history">
      <TableHead>
        <TableRow>
          <TableCell>When</TableCell>
          <TableCell>Who</TableCell>
          <TableCell align="right">Threshold</TableCell>
        </TableRow>
      </TableHead>
      <TableBody>
        {threshold.history.map((change, i) => (
          <TableRow key={`${change.changed_at}-${i}`} data-testid="threshold-history-row" data-by={change.changed_by ?? ''} data-value={change.threshold_ms}>
            <TableCell sx={{ whiteSpace: 'nowrap' }}>{timeOf(change.changed_at)}</TableCell>
            <TableCell>{change.changed_by ?? '—'}</TableCell>
            <TableCell align="right">{ms(change.threshold_ms)}</TableCell>
          </TableRow>
        ))}
      </TableBody>
    </Table>
  );
}

function QualityReport({ quality }: { quality: Quality }) {
  const rejected = Object.entries(quality.rejected_lines ?? {}).filter(([, n]) => n > 0);
  return (
    <Section title="Data quality" testId="quality-report">
      <Box sx={{ mb: 1 }}>
        <QualityChip quality={quality} />
      </Box>
      <Table size="small" aria-label="Quality checks">
        <TableBody>
          {quality.checks.map((check) => (
            <TableRow key={check.name} data-testid="quality-check" data-ok={check.ok ? 'true' : 'false'}>
              <TableCell sx={{ width: 80 }}>
                <Chip size="small" color={check.ok ? 'success' : 'error'} variant={check.ok ? 'outlined' : 'filled'} label={check.ok ? 'ok' : 'failed'} />
              </TableCell>
              <TableCell sx={{ fontFamily: 'monospace' }}>{check.name}</TableCell>
              <TableCell>{check.detail ?? ''}</TableCell>
            </TableRow>
          ))}
        </TableBody>
      </Table>
      <Typography variant="subtitle2" component="h3" sx={{ mt: 2 }}>
        Rejected lines
      </Typography>
      {rejected.length === 0 ? (
        <Typography variant="body2" color="text.secondary" data-testid="rejected-none">
          None: every line of this service's logs was read.
        </Typography>
      ) : (
        <Table size="small" aria-label="Rejected lines" data-testid="rejected-lines">
          <TableBody>
            {rejected.map(([reason, count]) => (
              <TableRow key={reason}>
                <TableCell sx={{ fontFamily: 'monospace' }}>{reason}</TableCell>
                <TableCell align="right">{count}</TableCell>
              </TableRow>
            ))}
          </TableBody>
        </Table>
      )}
    </Section>
  );
}
