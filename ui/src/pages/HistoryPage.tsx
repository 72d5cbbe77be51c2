// A dashboard's saved versions, newest first: look at any of them and make one current again.
import { useState } from 'react';
import { useParams } from 'react-router-dom';
import Alert from '@mui/material/Alert';
import Box from '@mui/material/Box';
import Button from '@mui/material/Button';
import Chip from '@mui/material/Chip';
import Paper from '@mui/material/Paper';
import Table from '@mui/material/Table';
import TableBody from '@mui/material/TableBody';
import TableCell from '@mui/material/TableCell';
import TableHead from '@mui/material/TableHead';
import TableRow from '@mui/material/TableRow';
import Typography from '@mui/material/Typography';
import type { DashboardResource } from '@perses-dev/core';
import { getVersion, listVersions, restoreVersion } from '../api/resources';
import { useLoad } from '../api/useLoad';
import { Breadcrumbs, dashboardUrl, projectUrl } from '../components/Breadcrumbs';
import { ErrorNotice } from '../components/ErrorNotice';
import { Page, PageLoading } from '../components/Layout';

export default function HistoryPage() {
  const { project = '', dashboard: name = '' } = useParams();
  const versions = useLoad(() => listVersions(project, name), `${project}/${name}`);
  const [shown, setShown] = useState<DashboardResource>();
  const [actionError, setActionError] = useState<unknown>();
  const [restored, setRestored] = useState<number>();

  const show = async (version: number) => {
    setActionError(undefined);
    try {
      setShown(await getVersion(project, name, version));
    } catch (e) {
      setActionError(e);
    }
  };
  const restore = async (version: number) => {
    setActionError(undefined);
    try {
      const current = await restoreVersion(project, name, version);
      setRestored(current.metadata.version);
      versions.reload();
    } catch (e) {
      setActionError(e);
    }
  };

  return (
    <Page
      title={
        <Breadcrumbs
          items={[
            { label: 'Projects', to: '/' },
            { label: project, to: projectUrl(project) },
            { label: name, to: dashboardUrl(project, name) },
            { label: 'History' },
          ]}
        />
      }
    >
      <ErrorNotice error={versions.error} onRetry={versions.reload} />
      <ErrorNotice error={actionError} onClose={() => setActionError(undefined)} />
      {restored !== undefined ? (
        <Alert severity="success" sx={{ mb: 2 }} onClose={() => setRestored(undefined)}>
          Restored: the dashboard is now version {restored}.
        </Alert>
      ) : null}
      {versions.loading && !versions.data ? <PageLoading /> : null}
      {versions.data ? (
        <Table size="small" aria-label="Versions">
          <TableHead>
            <TableRow>
              <TableCell>Version</TableCell>
              <TableCell>Saved at</TableCell>
              <TableCell align="right">Actions</TableCell>
            </TableRow>
          </TableHead>
          <TableBody>
            {versions.data.map((v) => (
              <TableRow key={v.version} hover selected={shown?.metadata.version === v.version}>
                <TableCell>
                  {v.version} {v.current ? <Chip size="small" color="primary" label="current" sx={{ ml: 1 }} /> : null}
                </TableCell>
                <TableCell>{new Date(v.updatedAt).toLocaleString()}</TableCell>
                <TableCell align="right">
                  <Button size="small" onClick={() => show(v.version)}>
                    View JSON
                  </Button>
                  {v.current ? null : (
                    <Button size="small" onClick={() => restore(v.version)}>
                      Restore
                    </Button>
                  )}
                </TableCell>
              </TableRow>
            ))}
          </TableBody>
        </Table>
      ) : null}
      {shown ? (
        <Box sx={{ mt: 3 }}>
          <Typography variant="h6">Version {shown.metadata.version}</Typography>
          <Paper variant="outlined" sx={{ p: 2, overflow: 'auto', maxHeight: 480 }}>
            <Box component="pre" sx={{ m: 0, fontSize: 12 }}>
              {JSON.stringify(shown, null, 2)}
            </Box>
          </Paper>
        </Box>
      ) : null}
    </Page>
  );
}
