// `/audit`: the audit log for those who may read it (admins): every write through the API, every
// login attempt and every share-link use, newest first, filtered by user, action and project;
// "Load more" follows the server's cursor (docs/user/authentication.md, "Audit log").
import { useEffect, useState, type FormEvent } from 'react';
import Box from '@mui/material/Box';
import Button from '@mui/material/Button';
import Stack from '@mui/material/Stack';
import Table from '@mui/material/Table';
import TableBody from '@mui/material/TableBody';
import TableCell from '@mui/material/TableCell';
import TableContainer from '@mui/material/TableContainer';
import TableHead from '@mui/material/TableHead';
import TableRow from '@mui/material/TableRow';
import TextField from '@mui/material/TextField';
import Typography from '@mui/material/Typography';
import { getAuditLog, type AuditEntry, type AuditFilter } from '../api/account';
import { formatTime, useAccount } from '../components/Account';
import { ErrorNotice } from '../components/ErrorNotice';
import { Page, PageLoading } from '../components/Layout';

const PAGE_SIZE = 50;

/** What an entry's detail says: the request (`POST /api/v1/...`) or its fields. */
function describeDetail(detail: unknown): string {
  if (detail === null || detail === undefined) return '';
  if (typeof detail !== 'object') return String(detail);
  const { method, path, ...rest } = detail as Record<string, unknown>;
  const parts: string[] = [];
  if (typeof method === 'string' && typeof path === 'string') parts.push(`${method} ${path}`);
  for (const [key, value] of Object.entries(rest)) {
    if (value !== null && value !== undefined) parts.push(`${key}: ${typeof value === 'string' ? value : JSON.stringify(value)}`);
  }
  return parts.join(', ');
}

interface Loaded {
  entries: AuditEntry[];
  nextCursor: number | string | null;
}

export default function AuditPage() {
  const { preferences } = useAccount();
  const [draft, setDraft] = useState<AuditFilter>({ user: '', action: '', project: '' });
  const [filter, setFilter] = useState<AuditFilter>({});
  const [loaded, setLoaded] = useState<Loaded>();
  const [error, setError] = useState<unknown>();
  const [busy, setBusy] = useState(false);
  const [generation, setGeneration] = useState(0);

  useEffect(() => {
    let current = true;
    setBusy(true);
    setError(undefined);
    setLoaded(undefined);
    getAuditLog(filter, undefined, PAGE_SIZE).then(
      (page) => current && setLoaded({ entries: page.entries, nextCursor: page.nextCursor ?? null }),
      (e: unknown) => current && setError(e),
    ).finally(() => current && setBusy(false));
    return () => {
      current = false;
    };
  }, [filter, generation]);

  const loadMore = async () => {
    if (!loaded || loaded.nextCursor === null) return;
    setBusy(true);
    setError(undefined);
    try {
      const page = await getAuditLog(filter, loaded.nextCursor, PAGE_SIZE);
      setLoaded({ entries: [...loaded.entries, ...page.entries], nextCursor: page.nextCursor ?? null });
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  };

  const search = (event: FormEvent) => {
    event.preventDefault();
    setFilter({ ...draft });
    setGeneration((g) => g + 1);
  };
  const field = (name: keyof AuditFilter, label: string) => (
    <TextField
      size="small"
      label={label}
      value={draft[name] ?? ''}
      onChange={(e) => setDraft((d) => ({ ...d, [name]: e.target.value }))}
    />
  );

  return (
    <Page title="Audit log">
      <Box component="form" onSubmit={search} sx={{ mb: 2 }}>
        <Stack direction={{ xs: 'column', sm: 'row' }} spacing={1} alignItems="center">
          {field('user', 'User')}
          {field('action', 'Action')}
          {field('project', 'Project')}
          <Button type="submit" variant="contained">
            Filter
          </Button>
        </Stack>
      </Box>
      <ErrorNotice error={error} title="Cannot read the audit log" />
      {!loaded && busy ? <PageLoading /> : null}
      {loaded ? (
        <>
          {loaded.entries.length === 0 ? <Typography color="text.secondary">No entries.</Typography> : null}
          {loaded.entries.length > 0 ? (
            <TableContainer>
              <Table size="small" aria-label="Audit log" data-testid="audit-table">
                <TableHead>
                  <TableRow>
                    <TableCell>Time</TableCell>
                    <TableCell>User</TableCell>
                    <TableCell>Action</TableCell>
                    <TableCell>Resource</TableCell>
                    <TableCell>Project</TableCell>
                    <TableCell>Name</TableCell>
                    <TableCell>Result</TableCell>
                    <TableCell>Status</TableCell>
                    <TableCell>Client</TableCell>
                    <TableCell>Request</TableCell>
                  </TableRow>
                </TableHead>
                <TableBody>
                  {loaded.entries.map((entry) => (
                    <TableRow key={entry.seq} data-testid="audit-row" title={`request ${entry.requestId}`}>
                      <TableCell sx={{ whiteSpace: 'nowrap' }}>{formatTime(entry.time, preferences)}</TableCell>
                      <TableCell>{entry.user}</TableCell>
                      <TableCell>{entry.action}</TableCell>
                      <TableCell>{entry.resource}</TableCell>
                      <TableCell>{entry.project}</TableCell>
                      <TableCell>{entry.name}</TableCell>
                      <TableCell>{entry.result}</TableCell>
                      <TableCell>{entry.status}</TableCell>
                      <TableCell>{entry.clientIp}</TableCell>
                      <TableCell sx={{ wordBreak: 'break-all' }}>{describeDetail(entry.detail)}</TableCell>
                    </TableRow>
                  ))}
                </TableBody>
              </Table>
            </TableContainer>
          ) : null}
          {loaded.nextCursor !== null ? (
            <Button sx={{ mt: 2 }} onClick={() => void loadMore()} disabled={busy}>
              Load more
            </Button>
          ) : null}
        </>
      ) : null}
    </Page>
  );
}
