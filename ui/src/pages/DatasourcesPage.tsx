// Datasources of a project, or the global ones: what they point at and which is the default.
import { useParams } from 'react-router-dom';
import Chip from '@mui/material/Chip';
import Table from '@mui/material/Table';
import TableBody from '@mui/material/TableBody';
import TableCell from '@mui/material/TableCell';
import TableHead from '@mui/material/TableHead';
import TableRow from '@mui/material/TableRow';
import Typography from '@mui/material/Typography';
import type { DatasourceSpec } from '@perses-dev/core';
import { listDatasources, listGlobalDatasources } from '../api/resources';
import { useLoad } from '../api/useLoad';
import { Breadcrumbs, projectUrl } from '../components/Breadcrumbs';
import { ErrorNotice } from '../components/ErrorNotice';
import { Page, PageLoading } from '../components/Layout';

interface Row {
  name: string;
  spec: DatasourceSpec;
}

/** Where a datasource's queries go upstream (the proxy URL, or a direct URL the browser calls). */
export function upstreamOf(spec: DatasourceSpec): string {
  const pluginSpec = (spec.plugin.spec ?? {}) as { directUrl?: string; proxy?: { spec?: { url?: string } } };
  if (pluginSpec.directUrl) return `${pluginSpec.directUrl} (direct)`;
  return pluginSpec.proxy?.spec?.url ?? '';
}

export default function DatasourcesPage({ scope }: { scope: 'project' | 'global' }) {
  const { project = '' } = useParams();
  const load = async (): Promise<Row[]> => {
    const items = scope === 'project' ? await listDatasources(project) : await listGlobalDatasources();
    return items.map((d) => ({ name: d.metadata.name, spec: d.spec }));
  };
  const datasources = useLoad(load, `${scope}/${project}`);
  const title =
    scope === 'project' ? (
      <Breadcrumbs items={[{ label: 'Projects', to: '/' }, { label: project, to: projectUrl(project) }, { label: 'Datasources' }]} />
    ) : (
      'Global datasources'
    );

  return (
    <Page title={title}>
      <Typography variant="body2" color="text.secondary" sx={{ mb: 2 }}>
        {scope === 'project'
          ? 'Dashboards of this project use these first, then the global datasources. Queries go through the Pharos proxy, which applies the project’s namespaces.'
          : 'Available to every project. A project’s dashboards reach them through the project’s proxy route, so its namespaces still apply.'}
      </Typography>
      <ErrorNotice error={datasources.error} onRetry={datasources.reload} />
      {datasources.loading && !datasources.data ? <PageLoading /> : null}
      {datasources.data && datasources.data.length === 0 ? (
        <Typography color="text.secondary">No datasources here yet (create them with the API or percli).</Typography>
      ) : null}
      {datasources.data && datasources.data.length > 0 ? (
        <Table size="small" aria-label="Datasources">
          <TableHead>
            <TableRow>
              <TableCell>Name</TableCell>
              <TableCell>Type</TableCell>
              <TableCell>Upstream</TableCell>
              <TableCell>Default</TableCell>
            </TableRow>
          </TableHead>
          <TableBody>
            {datasources.data.map((d) => (
              <TableRow key={d.name} hover>
                <TableCell>{d.spec.display?.name ?? d.name}</TableCell>
                <TableCell>{d.spec.plugin.kind}</TableCell>
                <TableCell sx={{ fontFamily: 'monospace' }}>{upstreamOf(d.spec)}</TableCell>
                <TableCell>{d.spec.default ? <Chip size="small" color="primary" label="default" /> : null}</TableCell>
              </TableRow>
            ))}
          </TableBody>
        </Table>
      ) : null}
    </Page>
  );
}
