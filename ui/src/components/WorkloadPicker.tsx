// "Your workloads" on the template gallery (docs/user/workloads.md, "In the UI"): the model
// servers, training jobs, notebooks and pipelines Pharos finds in a project, each with a button that
// opens the template that fits it with its variables filled in. The project is the gallery's
// `?project=` or the first one the user can read.
import { useMemo } from 'react';
import { Link as RouterLink, useSearchParams } from 'react-router-dom';
import Alert from '@mui/material/Alert';
import Button from '@mui/material/Button';
import MenuItem from '@mui/material/MenuItem';
import Paper from '@mui/material/Paper';
import Stack from '@mui/material/Stack';
import Table from '@mui/material/Table';
import TableBody from '@mui/material/TableBody';
import TableCell from '@mui/material/TableCell';
import TableHead from '@mui/material/TableHead';
import TableRow from '@mui/material/TableRow';
import TextField from '@mui/material/TextField';
import Typography from '@mui/material/Typography';
import { listProjects } from '../api/resources';
import { listWorkloads } from '../api/templates';
import { useLoad } from '../api/useLoad';
import { ErrorNotice } from './ErrorNotice';
import { templateUrl } from './templateUrl';

export function WorkloadPicker({ project: wanted }: { project: string | null }) {
  const [params, setParams] = useSearchParams();
  const projects = useLoad(listProjects, 'projects');
  const names = useMemo(() => (projects.data ?? []).map((p) => p.metadata.name), [projects.data]);
  const project = wanted && names.includes(wanted) ? wanted : (names[0] ?? '');
  const found = useLoad(() => (project ? listWorkloads(project) : Promise.resolve(undefined)), project);

  const choose = (next: string) => {
    const updated = new URLSearchParams(params);
    updated.set('project', next);
    setParams(updated, { replace: true });
  };

  if (projects.data && names.length === 0) return null;
  const workloads = found.data?.workloads ?? [];
  return (
    <Paper variant="outlined" sx={{ p: 2, mb: 3 }} data-testid="workload-picker">
      <Stack direction="row" spacing={2} alignItems="center" sx={{ mb: 1 }} flexWrap="wrap" useFlexGap>
        <Typography variant="subtitle1" component="h2">
          Workloads in
        </Typography>
        <TextField
          select
          size="small"
          value={names.includes(project) ? project : ''}
          onChange={(e) => choose(e.target.value)}
          inputProps={{ 'data-testid': 'workload-project', 'aria-label': 'Project' }}
          sx={{ minWidth: 200 }}
        >
          {names.map((name) => (
            <MenuItem key={name} value={name}>
              {name}
            </MenuItem>
          ))}
        </TextField>
        {found.data ? (
          <Typography variant="caption" color="text.secondary">
            found {found.data.source === 'kubernetes' ? 'in the Kubernetes API' : 'in the kube-state-metrics series of the project'}
          </Typography>
        ) : null}
      </Stack>
      <ErrorNotice error={projects.error ?? found.error} onRetry={found.reload} />
      {(found.data?.warnings ?? []).map((warning) => (
        <Alert key={warning} severity="warning" sx={{ mb: 1 }}>
          {warning}
        </Alert>
      ))}
      {found.data && workloads.length === 0 ? (
        <Typography variant="body2" color="text.secondary" data-testid="workloads-none">
          No model servers, training jobs, notebooks or pipelines found in this project.
        </Typography>
      ) : null}
      {workloads.length > 0 ? (
        <Table size="small" data-testid="workloads">
          <TableHead>
            <TableRow>
              <TableCell>Kind</TableCell>
              <TableCell>Name</TableCell>
              <TableCell>Namespace</TableCell>
              <TableCell>Status</TableCell>
              <TableCell>Pods</TableCell>
              <TableCell />
            </TableRow>
          </TableHead>
          <TableBody>
            {workloads.map((w) => (
              <TableRow key={`${w.namespace}/${w.kind}/${w.name}`} data-testid="workload-row" data-workload={w.name}>
                <TableCell>{w.kind}</TableCell>
                <TableCell>{w.name}</TableCell>
                <TableCell>{w.namespace}</TableCell>
                <TableCell>{w.status}</TableCell>
                <TableCell>{w.pods ?? '–'}</TableCell>
                <TableCell align="right">
                  {w.template ? (
                    <Button
                      size="small"
                      component={RouterLink}
                      to={templateUrl(w.template, project, null, w.variables)}
                      data-testid="workload-open-template"
                    >
                      Dashboard from “{w.template}”
                    </Button>
                  ) : (
                    <Typography variant="caption" color="text.secondary">
                      no template fits
                    </Typography>
                  )}
                </TableCell>
              </TableRow>
            ))}
          </TableBody>
        </Table>
      ) : null}
    </Paper>
  );
}
