// Deleted dashboards of a project: restore one, or purge it before its time.
import { useState } from 'react';
import { Link as RouterLink, useParams } from 'react-router-dom';
import Alert from '@mui/material/Alert';
import Button from '@mui/material/Button';
import Link from '@mui/material/Link';
import Table from '@mui/material/Table';
import TableBody from '@mui/material/TableBody';
import TableCell from '@mui/material/TableCell';
import TableHead from '@mui/material/TableHead';
import TableRow from '@mui/material/TableRow';
import Typography from '@mui/material/Typography';
import { listTrash, purgeFromTrash, restoreFromTrash } from '../api/resources';
import { useLoad } from '../api/useLoad';
import { Breadcrumbs, dashboardUrl, projectUrl } from '../components/Breadcrumbs';
import { ErrorNotice } from '../components/ErrorNotice';
import { Page, PageLoading } from '../components/Layout';

export default function TrashPage() {
  const { project = '' } = useParams();
  const trash = useLoad(() => listTrash(project), project);
  const [actionError, setActionError] = useState<unknown>();
  const [restored, setRestored] = useState<string>();

  const run = async (action: () => Promise<unknown>, restoredName?: string) => {
    setActionError(undefined);
    try {
      await action();
      setRestored(restoredName);
      trash.reload();
    } catch (e) {
      setActionError(e);
    }
  };

  return (
    <Page title={<Breadcrumbs items={[{ label: 'Projects', to: '/' }, { label: project, to: projectUrl(project) }, { label: 'Trash' }]} />}>
      <ErrorNotice error={trash.error} onRetry={trash.reload} />
      <ErrorNotice error={actionError} onClose={() => setActionError(undefined)} />
      {restored ? (
        <Alert severity="success" sx={{ mb: 2 }} onClose={() => setRestored(undefined)}>
          Restored{' '}
          <Link component={RouterLink} to={dashboardUrl(project, restored)}>
            {restored}
          </Link>
          .
        </Alert>
      ) : null}
      {trash.loading && !trash.data ? <PageLoading /> : null}
      {trash.data && trash.data.length === 0 ? <Typography color="text.secondary">The trash is empty.</Typography> : null}
      {trash.data && trash.data.length > 0 ? (
        <Table size="small" aria-label="Trash">
          <TableHead>
            <TableRow>
              <TableCell>Dashboard</TableCell>
              <TableCell>Deleted at</TableCell>
              <TableCell>Purged at</TableCell>
              <TableCell align="right">Actions</TableCell>
            </TableRow>
          </TableHead>
          <TableBody>
            {trash.data.map((d) => (
              <TableRow key={d.metadata.name} hover>
                <TableCell>{d.metadata.name}</TableCell>
                <TableCell>{new Date(d.trash.deletedAt).toLocaleString()}</TableCell>
                <TableCell>{new Date(d.trash.purgeAt).toLocaleString()}</TableCell>
                <TableCell align="right">
                  <Button size="small" onClick={() => run(() => restoreFromTrash(project, d.metadata.name), d.metadata.name)}>
                    Restore
                  </Button>
                  <Button size="small" color="error" onClick={() => run(() => purgeFromTrash(project, d.metadata.name))}>
                    Purge now
                  </Button>
                </TableCell>
              </TableRow>
            ))}
          </TableBody>
        </Table>
      ) : null}
    </Page>
  );
}
