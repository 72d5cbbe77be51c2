/**
 * Explore (`/explore`): ad hoc PromQL queries, as in Grafana's Explore or the Prometheus UI. The
 * user picks a project (or none, for those who may read all data), a Prometheus datasource seen
 * from there, writes a query with completion, runs it (Shift+Enter or Run) and sees it as a graph
 * (a Perses TimeSeriesChart, as on dashboards) or a table of the series at the end of the time
 * range. Everything the view depends on is in the address (project, datasource, query, view,
 * time range), so a copied link opens the same view. "Add to dashboard" appends the query as a
 * panel to a dashboard the user may edit, or starts a new one. Docs: docs/user/explore.md.
 */
import { useCallback, useEffect, useMemo, useRef, useState } from 'react';
import { useSearchParams } from 'react-router-dom';
import Alert from '@mui/material/Alert';
import Box from '@mui/material/Box';
import Button from '@mui/material/Button';
import ListItemText from '@mui/material/ListItemText';
import ListSubheader from '@mui/material/ListSubheader';
import MenuItem from '@mui/material/MenuItem';
import TextField from '@mui/material/TextField';
import Typography from '@mui/material/Typography';
import { PlusBoxOutline as PlusBoxOutlineIcon } from 'mdi-material-ui';
import type { DurationString } from '@perses-dev/core';
import { messageOf } from '../api/http';
import { listProjects } from '../api/resources';
import { useLoad } from '../api/useLoad';
import { timeZoneOf, useAccount } from '../components/Account';
import { ErrorNotice } from '../components/ErrorNotice';
import { PageLoading } from '../components/Layout';
import { AddToDashboardDialog } from '../explore/AddToDashboardDialog';
import ExploreWorkspace from '../explore/ExploreWorkspace';
import { defaultChoice, loadChoices, type DatasourceChoice } from '../explore/datasources';
import { readState, writeState, type ExploreState } from '../explore/state';

const NO_PROJECT = '';
const DEFAULT_RANGE = '1h';

function choiceLabel(choice: DatasourceChoice): string {
  return choice.display && choice.display !== choice.name ? `${choice.display} (${choice.name})` : choice.name;
}

export default function ExplorePage() {
  const [params, setParams] = useSearchParams();
  const state = readState(params);
  const { can, permissions, preferences, preferencesLoaded } = useAccount();
  // The plain global proxy route reads every tenant's data: only with the global read on Metrics.
  const mayReadAll = can('read', 'Metrics');
  const projects = useLoad(listProjects, 'projects');
  const choices = useLoad(() => loadChoices(state.project), state.project ?? NO_PROJECT);
  const [adding, setAdding] = useState(false);

  const update = useCallback(
    (changes: Partial<ExploreState>, replace = false) => setParams((previous) => writeState(previous, changes), { replace }),
    [setParams],
  );

  // What a page opened from a bare or partial address fills in, in one change of the address
  // (replacing it, so Back skips it): someone who may not read all data starts in their first
  // project; the time range is the preferred one; the datasource is the default one, also when a
  // project without the chosen one was picked. A link naming a datasource that is not there says
  // so instead.
  const switchedProject = useRef(false);
  const firstProject = projects.data?.[0]?.metadata.name;
  // Only the answer for the project in the address counts (the previous one lingers a moment).
  const loadedChoices = !choices.loading && choices.data?.project === state.project ? choices.data : undefined;
  const selected = loadedChoices?.choices.find((c) => c.name === state.datasource);
  useEffect(() => {
    const next = new URLSearchParams(params);
    if (permissions !== undefined && !mayReadAll && state.project === undefined && firstProject !== undefined) {
      // The datasources are listed again for that project before one is chosen.
      setParams(writeState(next, { project: firstProject }), { replace: true });
      return;
    }
    let changed = false;
    if (preferencesLoaded && !next.has('start')) {
      next.set('start', preferences.time_range || DEFAULT_RANGE);
      changed = true;
    }
    if (loadedChoices) {
      const missing = state.datasource === undefined || (switchedProject.current && !selected);
      switchedProject.current = false;
      const fallback = missing ? defaultChoice(loadedChoices.choices) : undefined;
      if (fallback && fallback.name !== state.datasource) {
        next.set('datasource', fallback.name);
        changed = true;
      }
    }
    if (changed) setParams(next, { replace: true });
  }, [params, setParams, permissions, mayReadAll, state.project, state.datasource, firstProject, preferencesLoaded, preferences.time_range, loadedChoices, selected]);

  // The editor's text follows the address (a link, Back and Forward); Run writes it there.
  const [draft, setDraft] = useState(state.query);
  useEffect(() => setDraft(state.query), [state.query]);

  const projectNames = useMemo(() => (projects.data ?? []).map((p) => p.metadata.name), [projects.data]);

  const pickers = (
    <>
      <TextField
        select
        size="small"
        label="Project"
        value={state.project ?? NO_PROJECT}
        onChange={(event) => {
          switchedProject.current = true;
          update({ project: event.target.value || undefined });
        }}
        sx={{ minWidth: 200 }}
        SelectProps={{ displayEmpty: true }}
        InputLabelProps={{ shrink: true }}
        inputProps={{ 'data-testid': 'explore-project' }}
      >
        {mayReadAll || state.project === undefined ? (
          <MenuItem value={NO_PROJECT}>
            <em>None (all data)</em>
          </MenuItem>
        ) : null}
        {state.project !== undefined && !projectNames.includes(state.project) ? (
          <MenuItem value={state.project}>{state.project}</MenuItem>
        ) : null}
        {projectNames.map((name) => (
          <MenuItem key={name} value={name}>
            {name}
          </MenuItem>
        ))}
      </TextField>
      <TextField
        select
        size="small"
        label="Datasource"
        value={selected ? state.datasource : ''}
        onChange={(event) => update({ datasource: event.target.value })}
        sx={{ minWidth: 240 }}
        disabled={!loadedChoices || loadedChoices.choices.length === 0}
        SelectProps={{ renderValue: () => (selected ? choiceLabel(selected) : '') }}
        inputProps={{ 'data-testid': 'explore-datasource' }}
      >
        {(['project', 'global'] as const).flatMap((scope) => {
          const items = (loadedChoices?.choices ?? []).filter((c) => c.scope === scope);
          if (items.length === 0) return [];
          return [
            <ListSubheader key={`${scope}-header`}>{scope === 'project' ? 'Project datasources' : 'Global datasources'}</ListSubheader>,
            ...items.map((c) => (
              <MenuItem key={`${scope}/${c.name}`} value={c.name} disabled={c.shadowed}>
                <ListItemText
                  primary={choiceLabel(c)}
                  secondary={c.shadowed ? 'hidden by the project datasource of the same name' : c.isDefault ? 'default' : undefined}
                />
              </MenuItem>
            )),
          ];
        })}
      </TextField>
    </>
  );

  // The workspace starts once the address is complete: Perses writes to it too (the refresh
  // interval) when it starts, and the two writes must not cross.
  const ready =
    permissions !== undefined &&
    (mayReadAll || state.project !== undefined || (projects.data !== undefined && firstProject === undefined)) &&
    preferencesLoaded &&
    params.has('start') &&
    loadedChoices !== undefined &&
    (state.datasource !== undefined || defaultChoice(loadedChoices.choices) === undefined);

  return (
    <Box sx={{ p: 2, display: 'flex', flexDirection: 'column', gap: 1, minWidth: 0 }}>
      <Typography variant="h5" component="h1">
        Explore
      </Typography>
      <ErrorNotice error={projects.error} title="Cannot list the projects" onRetry={projects.reload} />
      <ErrorNotice error={choices.error} title="Cannot list the datasources" onRetry={choices.reload} />
      {loadedChoices?.globalError ? (
        <Alert severity="info">Global datasources are not offered: {messageOf(loadedChoices.globalError)}</Alert>
      ) : null}
      {loadedChoices && loadedChoices.choices.length === 0 ? (
        <Alert severity="info" data-testid="explore-no-datasource">
          No Prometheus datasource {state.project ? `in project ${state.project} or ` : ''}among the global ones. An administrator adds
          them under Admin → Global datasources.
        </Alert>
      ) : null}
      {loadedChoices && state.datasource !== undefined && !selected ? (
        <Alert severity="warning" data-testid="explore-missing-datasource">
          There is no Prometheus datasource “{state.datasource}” {state.project ? `in project ${state.project}` : 'among the global ones'}
          ; pick another one.
        </Alert>
      ) : null}
      {!ready ? (
        <>
          <Box sx={{ display: 'flex', gap: 1, flexWrap: 'wrap' }}>{pickers}</Box>
          {choices.error ? null : <PageLoading />}
        </>
      ) : (
        <ExploreWorkspace
          key={state.project ?? NO_PROJECT}
          project={state.project}
          datasource={selected ? state.datasource : undefined}
          query={state.query}
          onQueryChange={(query) => update({ query })}
          draft={draft}
          onDraftChange={setDraft}
          view={state.view}
          onViewChange={(view) => update({ view }, true)}
          pickers={pickers}
          defaultRange={(preferences.time_range || DEFAULT_RANGE) as DurationString}
          timeZone={timeZoneOf(preferences)}
          actions={
            <Button
              size="small"
              startIcon={<PlusBoxOutlineIcon />}
              disabled={state.query === '' || !selected}
              onClick={() => setAdding(true)}
              data-testid="add-to-dashboard"
            >
              Add to dashboard
            </Button>
          }
        />
      )}
      {selected && adding ? (
        <AddToDashboardDialog
          open={adding}
          onClose={() => setAdding(false)}
          query={state.query}
          datasource={selected}
          project={state.project}
          projects={projects.data ?? []}
        />
      ) : null}
    </Box>
  );
}
