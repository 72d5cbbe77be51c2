// "Share": a read-only link to this dashboard with the current time range and variable values,
// expiring after 1 h, 24 h or 7 d, optionally only from some networks; and the dashboard's
// existing links, each revocable (docs/user/authentication.md, "Share links").
import { useState } from 'react';
import Alert from '@mui/material/Alert';
import Box from '@mui/material/Box';
import Button from '@mui/material/Button';
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
// Named imports from the ESM index: the per-icon files are CommonJS.
import { ContentCopy as ContentCopyIcon, ShareVariant as ShareVariantIcon } from 'mdi-material-ui';
import {
  createShare,
  listShares,
  revokeShare,
  type CreatedShare,
  type SharedTimeRange,
  type SharedVariables,
  type ShareLink,
} from '../api/account';
import { useLoad } from '../api/useLoad';
import { formatTime, useAccount } from './Account';
import { ErrorNotice } from './ErrorNotice';

/** What the link keeps of the view. */
export interface ShareSnapshot {
  variables: SharedVariables;
  timeRange: SharedTimeRange;
}

const EXPIRIES = [
  { label: '1 hour', seconds: 3600 },
  { label: '24 hours', seconds: 86_400 },
  { label: '7 days', seconds: 604_800 },
];

function describeRange(range: SharedTimeRange | null | undefined, format: (v: string) => string): string {
  if (!range) return 'the dashboard default';
  if ('pastDuration' in range) return `the last ${range.pastDuration}`;
  return `${format(range.start)} to ${format(range.end)}`;
}

function describeVariables(variables: SharedVariables | null | undefined): string {
  const entries = Object.entries(variables ?? {});
  if (entries.length === 0) return 'none';
  return entries.map(([name, value]) => `${name} = ${Array.isArray(value) ? value.join(', ') : value}`).join('; ');
}

/** The absolute address of a link (the server answers with one, or with a path). */
function absolute(url: string): string {
  return new URL(url, window.location.origin).href;
}

async function copyText(text: string): Promise<boolean> {
  try {
    await navigator.clipboard.writeText(text);
    return true;
  } catch {
    // No clipboard permission (or an insecure origin): the link stays selected to copy by hand.
    return false;
  }
}

function linkState(link: ShareLink): string {
  if (link.revoked_at) return 'revoked';
  if (link.expires_at && Date.parse(link.expires_at) <= Date.now()) return 'expired';
  return 'active';
}

function ExistingLinks({ project, dashboard, refreshKey }: { project: string; dashboard: string; refreshKey: number }) {
  const { preferences } = useAccount();
  const [generation, setGeneration] = useState(0);
  const [error, setError] = useState<unknown>();
  const links = useLoad(() => listShares(project, dashboard), `${project}/${dashboard}/${refreshKey}/${generation}`);
  const revoke = async (id: string) => {
    setError(undefined);
    try {
      await revokeShare(project, dashboard, id);
      setGeneration((g) => g + 1);
    } catch (e) {
      setError(e);
    }
  };
  const format = (v: string | null) => formatTime(v, preferences);
  const items = [...(links.data ?? [])].sort((a, b) => Date.parse(b.created_at) - Date.parse(a.created_at));
  return (
    <Box sx={{ mt: 3 }}>
      <Typography variant="subtitle1" component="h3" sx={{ fontWeight: 700 }}>
        Links to this dashboard
      </Typography>
      <ErrorNotice error={links.error ?? error} />
      {links.data && items.length === 0 ? (
        <Typography color="text.secondary" variant="body2">
          No links yet.
        </Typography>
      ) : null}
      {items.length > 0 ? (
        <Table size="small" aria-label="Share links" data-testid="share-links">
          <TableHead>
            <TableRow>
              <TableCell>Created by</TableCell>
              <TableCell>Created</TableCell>
              <TableCell>Expires</TableCell>
              <TableCell>Last used</TableCell>
              <TableCell>Keeps</TableCell>
              <TableCell />
            </TableRow>
          </TableHead>
          <TableBody>
            {items.map((link) => {
              const state = linkState(link);
              return (
                <TableRow key={link.token_id} data-testid="share-link-row" data-token-id={link.token_id}>
                  <TableCell>{link.created_by}</TableCell>
                  <TableCell>{format(link.created_at)}</TableCell>
                  <TableCell>{format(link.expires_at)}</TableCell>
                  <TableCell>{link.last_used_at ? format(link.last_used_at) : 'never'}</TableCell>
                  <TableCell sx={{ maxWidth: 260 }}>
                    {describeRange(link.time_range, (v) => format(v))}; {describeVariables(link.variables)}
                    {link.ip_restrictions && link.ip_restrictions.length > 0 ? `; from ${link.ip_restrictions.join(', ')}` : ''}
                  </TableCell>
                  <TableCell align="right">
                    {state === 'active' ? (
                      <Button size="small" color="error" onClick={() => void revoke(link.token_id)}>
                        Revoke
                      </Button>
                    ) : (
                      <Typography variant="body2" color="text.secondary">
                        {state}
                      </Typography>
                    )}
                  </TableCell>
                </TableRow>
              );
            })}
          </TableBody>
        </Table>
      ) : null}
    </Box>
  );
}

export function ShareDialog({
  project,
  dashboard,
  snapshot,
  onClose,
}: {
  project: string;
  dashboard: string;
  snapshot: ShareSnapshot;
  onClose: () => void;
}) {
  const { preferences } = useAccount();
  const [expiresIn, setExpiresIn] = useState(86_400);
  const [ipRanges, setIpRanges] = useState('');
  const [created, setCreated] = useState<CreatedShare>();
  const [error, setError] = useState<unknown>();
  const [busy, setBusy] = useState(false);
  const [copied, setCopied] = useState<boolean>();
  const [createdCount, setCreatedCount] = useState(0);

  const create = async () => {
    setBusy(true);
    setError(undefined);
    setCopied(undefined);
    try {
      const ranges = ipRanges
        .split(',')
        .map((r) => r.trim())
        .filter((r) => r !== '');
      const answer = await createShare(project, dashboard, {
        expires_in: expiresIn,
        ip_restrictions: ranges,
        variables: snapshot.variables,
        time_range: snapshot.timeRange,
      });
      setCreated({ ...answer, share_url: absolute(answer.share_url) });
      setCreatedCount((n) => n + 1);
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  };

  const copy = async () => {
    if (!created) return;
    setCopied(await copyText(created.share_url));
  };

  return (
    <Dialog open onClose={onClose} maxWidth="md" fullWidth aria-labelledby="share-dialog-title">
      <DialogTitle id="share-dialog-title">Share this dashboard</DialogTitle>
      <DialogContent>
        <Typography variant="body2" sx={{ mb: 2 }}>
          Anyone with the link sees this dashboard read-only, without logging in, until it expires or is revoked. It
          keeps the time range ({describeRange(snapshot.timeRange, (v) => formatTime(v, preferences))}) and the
          variables ({describeVariables(snapshot.variables)}) as they are now.
        </Typography>
        <Stack direction={{ xs: 'column', sm: 'row' }} spacing={2}>
          <TextField
            select
            label="Expires after"
            value={expiresIn}
            onChange={(e) => setExpiresIn(Number(e.target.value))}
            sx={{ minWidth: 160 }}
            inputProps={{ 'data-testid': 'share-expiry' }}
          >
            {EXPIRIES.map((choice) => (
              <MenuItem key={choice.seconds} value={choice.seconds}>
                {choice.label}
              </MenuItem>
            ))}
          </TextField>
          <TextField
            label="IP ranges (optional)"
            placeholder="10.0.0.0/8, 192.168.1.7"
            helperText="Comma separated; empty: from anywhere"
            value={ipRanges}
            onChange={(e) => setIpRanges(e.target.value)}
            sx={{ flexGrow: 1 }}
          />
        </Stack>
        <ErrorNotice error={error} title="No link was made" />
        {created ? (
          <Alert severity="success" sx={{ mt: 2 }} data-testid="share-created">
            <Typography variant="body2" sx={{ mb: 1 }}>
              Link made; it expires {formatTime(created.expires_at, preferences)}.
            </Typography>
            <Stack direction="row" spacing={1} alignItems="center">
              <TextField
                value={created.share_url}
                size="small"
                label="Link"
                fullWidth
                InputProps={{ readOnly: true }}
                inputProps={{ 'data-testid': 'share-url' }}
                onFocus={(e) => e.target.select()}
                sx={{ minWidth: 380 }}
              />
              <Button variant="contained" startIcon={<ContentCopyIcon />} onClick={() => void copy()} sx={{ whiteSpace: 'nowrap' }}>
                Copy link
              </Button>
            </Stack>
            {copied === true ? <Typography variant="body2" data-testid="share-copied">Copied to the clipboard.</Typography> : null}
            {copied === false ? (
              <Typography variant="body2">The browser refused the clipboard: select the link and copy it.</Typography>
            ) : null}
          </Alert>
        ) : null}
        <ExistingLinks project={project} dashboard={dashboard} refreshKey={createdCount} />
      </DialogContent>
      <DialogActions>
        <Button onClick={onClose}>Close</Button>
        <Button variant="contained" onClick={() => void create()} disabled={busy} startIcon={<ShareVariantIcon />}>
          Create link
        </Button>
      </DialogActions>
    </Dialog>
  );
}

/** The toolbar button; `current` reads the view when the dialog opens. */
export function ShareButton({ project, dashboard, current }: { project: string; dashboard: string; current: () => ShareSnapshot }) {
  const [snapshot, setSnapshot] = useState<ShareSnapshot>();
  return (
    <>
      <Button
        variant="outlined"
        size="small"
        startIcon={<ShareVariantIcon />}
        onClick={() => setSnapshot(current())}
        data-testid="share-button"
        sx={{ whiteSpace: 'nowrap', ml: 1 }}
      >
        Share
      </Button>
      {snapshot ? <ShareDialog project={project} dashboard={dashboard} snapshot={snapshot} onClose={() => setSnapshot(undefined)} /> : null}
    </>
  );
}
