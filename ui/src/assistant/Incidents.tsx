// The assistant's Incidents view (`/assistant?view=incidents&window=6h`): the root-cause analysis
// of the last hour, 6 hours or day (rca.ts), incidents newest first. Expanding one shows its
// ranked suspects — kind, entity labels, score, the reasons, the evidence (each query and its
// points) and the alerts about it. "Download report" saves the server's Markdown report. It does
// not use the chat, so it works without a configured language model.
import { useEffect, useMemo, useState } from 'react';
import { useSearchParams } from 'react-router-dom';
import Accordion from '@mui/material/Accordion';
import AccordionDetails from '@mui/material/AccordionDetails';
import AccordionSummary from '@mui/material/AccordionSummary';
import Alert from '@mui/material/Alert';
import Box from '@mui/material/Box';
import Button from '@mui/material/Button';
import Chip from '@mui/material/Chip';
import LinearProgress from '@mui/material/LinearProgress';
import Paper from '@mui/material/Paper';
import Stack from '@mui/material/Stack';
import Table from '@mui/material/Table';
import TableBody from '@mui/material/TableBody';
import TableCell from '@mui/material/TableCell';
import TableHead from '@mui/material/TableHead';
import TableRow from '@mui/material/TableRow';
import ToggleButton from '@mui/material/ToggleButton';
import ToggleButtonGroup from '@mui/material/ToggleButtonGroup';
import Typography from '@mui/material/Typography';
import { ChevronDown as ExpandIcon, Download as DownloadIcon, Refresh as RefreshIcon } from 'mdi-material-ui';
import { useLoad } from '../api/useLoad';
import { ErrorNotice } from '../components/ErrorNotice';
import { explainWindow, type RcaEvidence, type RcaIncident, type RcaReport, type RcaSuspect } from './rca';

export const WINDOWS = ['1h', '6h', '24h'] as const;
const DEFAULT_WINDOW = '6h';
const KIND_NAMES: Record<string, string> = {
  gpu: 'GPU',
  model_server: 'Model server',
  training_job: 'Training job',
  pipeline: 'Pipeline',
  other: 'Other',
};

const time = (seconds: number) => new Date(seconds * 1000).toLocaleString();
const clock = (seconds: number) => new Date(seconds * 1000).toLocaleTimeString();
const score = (value: number) => (Number.isFinite(value) ? value.toFixed(2) : String(value));
const number = (value: number | null) => (value === null || !Number.isFinite(value) ? '—' : Number(value.toPrecision(4)).toString());

function duration(seconds: number): string {
  if (seconds < 60) return `${Math.max(0, Math.round(seconds))} s`;
  if (seconds < 3600) return `${Math.round(seconds / 60)} min`;
  return `${(seconds / 3600).toFixed(1)} h`;
}

/** A same-day span shows the end's time only. */
function span(start: number, end: number): string {
  const sameDay = new Date(start * 1000).toDateString() === new Date(end * 1000).toDateString();
  return `${time(start)} – ${sameDay ? clock(end) : time(end)} (${duration(end - start)})`;
}

export function Incidents() {
  const [params, setParams] = useSearchParams();
  const asked = params.get('window') ?? DEFAULT_WINDOW;
  const window = (WINDOWS as readonly string[]).includes(asked) ? asked : DEFAULT_WINDOW;
  const report = useLoad(() => explainWindow(window), `rca:${window}`);

  const choose = (next: string | null) => {
    if (!next || next === window) return;
    const changed = new URLSearchParams(params);
    changed.set('window', next);
    setParams(changed, { replace: true });
  };

  return (
    <Box sx={{ flex: 1, minHeight: 0, overflow: 'auto', p: 2 }} data-testid="incidents-view">
      <Stack direction="row" spacing={2} alignItems="center" sx={{ mb: 1, flexWrap: 'wrap' }}>
        <Typography variant="h6" component="h1">
          Incidents
        </Typography>
        <ToggleButtonGroup size="small" exclusive value={window} onChange={(_, next: string | null) => choose(next)} aria-label="Window" data-testid="incidents-window">
          {WINDOWS.map((w) => (
            <ToggleButton key={w} value={w} data-window={w}>
              Last {w.replace('h', ' h')}
            </ToggleButton>
          ))}
        </ToggleButtonGroup>
        <Button size="small" startIcon={<RefreshIcon />} onClick={report.reload} disabled={report.loading} data-testid="incidents-refresh">
          Refresh
        </Button>
        <Box sx={{ flex: 1 }} />
        {report.data ? <DownloadReport report={report.data} window={window} /> : null}
      </Stack>
      {report.loading ? <LinearProgress sx={{ mb: 1 }} data-testid="incidents-loading" aria-label="Analysing" /> : <Box sx={{ height: 4, mb: 1 }} />}
      {report.error ? (
        <Box data-testid="incidents-error">
          <ErrorNotice error={report.error} title="The root-cause analysis failed" onRetry={report.reload} />
        </Box>
      ) : null}
      {report.data ? <Report report={report.data} /> : null}
      {!report.data && !report.error && report.loading ? (
        <Typography color="text.secondary">Analysing the last {window.replace('h', ' h')}…</Typography>
      ) : null}
    </Box>
  );
}

/** A link to the report's Markdown (a Blob URL, released when the report changes). */
function DownloadReport({ report, window }: { report: RcaReport; window: string }) {
  const [href, setHref] = useState<string>();
  useEffect(() => {
    const url = URL.createObjectURL(new Blob([report.report_markdown], { type: 'text/markdown' }));
    setHref(url);
    return () => URL.revokeObjectURL(url);
  }, [report]);
  const name = `rca-${window}-${new Date(report.window.end * 1000).toISOString().slice(0, 16).replace(/[:T]/g, '-')}.md`;
  return (
    <Button size="small" variant="outlined" startIcon={<DownloadIcon />} href={href ?? ''} disabled={!href} download={name} data-testid="incidents-download">
      Download report
    </Button>
  );
}

function Report({ report }: { report: RcaReport }) {
  const incidents = useMemo(() => [...report.incidents].sort((a, b) => b.start - a.start || b.id - a.id), [report]);
  return (
    <>
      {report.warnings?.length ? (
        <Alert severity="info" sx={{ mb: 1 }} data-testid="incidents-warnings">
          {report.warnings.map((w, i) => (
            <div key={i}>{w}</div>
          ))}
        </Alert>
      ) : null}
      <Typography variant="body2" color="text.secondary" sx={{ mb: 1 }}>
        {span(report.window.start, report.window.end)} · {incidents.length} incident{incidents.length === 1 ? '' : 's'}
      </Typography>
      {incidents.length === 0 ? (
        <Paper variant="outlined" sx={{ p: 3, textAlign: 'center' }} data-testid="incidents-empty">
          <Typography color="text.secondary">No incidents in this window</Typography>
        </Paper>
      ) : (
        incidents.map((incident) => <IncidentRow key={incident.id} incident={incident} suspects={incident.suspects.map((i) => report.suspects[i]).filter(Boolean)} />)
      )}
    </>
  );
}

function IncidentRow({ incident, suspects }: { incident: RcaIncident; suspects: RcaSuspect[] }) {
  return (
    <Accordion disableGutters variant="outlined" slotProps={{ transition: { unmountOnExit: true } }} data-testid="incident-row" data-incident-id={incident.id}>
      <AccordionSummary expandIcon={<ExpandIcon />} data-testid="incident-summary">
        <Stack direction={{ xs: 'column', md: 'row' }} spacing={{ xs: 0.5, md: 2 }} sx={{ width: '100%', minWidth: 0, pr: 1 }} alignItems={{ md: 'center' }}>
          <Typography variant="body2" color="text.secondary" sx={{ flexShrink: 0, fontVariantNumeric: 'tabular-nums' }} data-testid="incident-span">
            {span(incident.start, incident.end)}
          </Typography>
          <Typography sx={{ flex: 1, minWidth: 0 }} data-testid="incident-text">
            {incident.summary}
          </Typography>
          <Chip size="small" label={`score ${score(incident.score)}`} sx={{ flexShrink: 0 }} data-testid="incident-score" />
        </Stack>
      </AccordionSummary>
      <AccordionDetails>
        <Stack spacing={1.5}>
          {suspects.length === 0 ? <Typography color="text.secondary">No suspects.</Typography> : suspects.map((s) => <SuspectRow key={`${s.incident}-${s.rank}`} suspect={s} />)}
        </Stack>
      </AccordionDetails>
    </Accordion>
  );
}

function SuspectRow({ suspect }: { suspect: RcaSuspect }) {
  return (
    <Paper variant="outlined" sx={{ p: 1.5 }} data-testid="suspect-row" data-rank={suspect.rank} data-kind={suspect.kind}>
      <Stack direction="row" spacing={1} alignItems="center" sx={{ flexWrap: 'wrap', rowGap: 0.5 }}>
        <Typography fontWeight={600}>#{suspect.rank}</Typography>
        <Chip size="small" color={suspect.rank === 1 ? 'primary' : 'default'} label={KIND_NAMES[suspect.kind] ?? suspect.kind} />
        {Object.entries(suspect.entity).map(([name, value]) => (
          <Chip key={name} size="small" variant="outlined" label={`${name}=${value}`} data-testid="suspect-label" data-name={name} data-value={value} />
        ))}
        <Box sx={{ flex: 1 }} />
        <Typography variant="body2" color="text.secondary">
          score {score(suspect.score)}
        </Typography>
      </Stack>
      {suspect.why.length > 0 ? (
        <Box component="ul" sx={{ my: 1, pl: 3 }}>
          {suspect.why.map((line, i) => (
            <Typography component="li" variant="body2" key={i} data-testid="suspect-why">
              {line}
            </Typography>
          ))}
        </Box>
      ) : null}
      {suspect.evidence.map((evidence, i) => (
        <Evidence key={i} label={`E${i + 1}`} evidence={evidence} />
      ))}
      {suspect.alerts?.length ? (
        <Box sx={{ mt: 1 }} data-testid="suspect-alerts">
          <Typography variant="subtitle2">Alerts</Typography>
          {suspect.alerts.map((alert, i) => (
            <Typography variant="body2" key={i} data-testid="suspect-alert">
              <b>{alert.labels.alertname ?? 'alert'}</b> ({alert.state}) from {time(alert.starts_at)}
              {alert.ends_at ? ` to ${time(alert.ends_at)}` : ''}
            </Typography>
          ))}
        </Box>
      ) : null}
    </Paper>
  );
}

function Evidence({ label, evidence }: { label: string; evidence: RcaEvidence }) {
  return (
    <Box sx={{ mt: 1 }} data-testid="evidence">
      <Stack direction="row" spacing={1} alignItems="baseline">
        <Typography variant="body2" fontWeight={600} sx={{ flexShrink: 0 }}>
          [{label}]
        </Typography>
        <Typography variant="body2" component="code" sx={{ fontFamily: 'monospace', wordBreak: 'break-all' }} data-testid="evidence-query">
          {evidence.query}
        </Typography>
      </Stack>
      {evidence.anomaly?.summary ? (
        <Typography variant="body2" color="text.secondary" sx={{ ml: 4 }}>
          {evidence.anomaly.summary}
        </Typography>
      ) : null}
      {evidence.values.length > 0 ? (
        <Box sx={{ ml: 4, mt: 0.5, overflowX: 'auto' }}>
          <Table size="small" sx={{ width: 'auto', '& td, & th': { py: 0.25, px: 1, fontVariantNumeric: 'tabular-nums' } }} data-testid="evidence-values">
            <TableHead>
              <TableRow>
                <TableCell component="th">Time</TableCell>
                {evidence.values.map(([t], i) => (
                  <TableCell key={i}>{clock(t)}</TableCell>
                ))}
              </TableRow>
            </TableHead>
            <TableBody>
              <TableRow>
                <TableCell component="th">Value</TableCell>
                {evidence.values.map(([, v], i) => (
                  <TableCell key={i}>{number(v)}</TableCell>
                ))}
              </TableRow>
            </TableBody>
          </Table>
        </Box>
      ) : null}
    </Box>
  );
}
