// Making a dashboard from a template (docs/user/templates.md, "In the UI"): the target project
// (those the user may create dashboards in), a name, and a value per variable, with suggestions
// from the project's default Prometheus datasource (each variable's lookup narrowed by the values
// chosen before it; free text is fine too). "Create dashboard" asks the server to instantiate it
// and opens the new dashboard; the server's refusals are shown as it words them.
import { useEffect, useMemo, useState } from 'react';
import { Link as RouterLink, useNavigate, useParams, useSearchParams } from 'react-router-dom';
import Alert from '@mui/material/Alert';
import Autocomplete from '@mui/material/Autocomplete';
import Box from '@mui/material/Box';
import Button from '@mui/material/Button';
import CircularProgress from '@mui/material/CircularProgress';
import MenuItem from '@mui/material/MenuItem';
import Paper from '@mui/material/Paper';
import Stack from '@mui/material/Stack';
import TextField from '@mui/material/TextField';
import Typography from '@mui/material/Typography';
import { ApiError, messageOf } from '../api/http';
import { defaultPrometheusProxy, fillMatcher, labelValues, labelValuesSources, type LabelValuesSource } from '../api/labelValues';
import { listProjects } from '../api/resources';
import { createFromTemplate, getTemplate, type TemplateVariable } from '../api/templates';
import { useLoad } from '../api/useLoad';
import { useAccount } from '../components/Account';
import { Breadcrumbs, dashboardUrl } from '../components/Breadcrumbs';
import { ErrorNotice } from '../components/ErrorNotice';
import { Page, PageLoading } from '../components/Layout';
import { CategoryChip, PanelPreview, SourceBadge } from '../components/PanelPreview';

const MAX_NAME = 128;

interface Suggestions {
  options: string[];
  loading: boolean;
  error?: string;
}

/** The values `source` finds with `values` filled in; asked again when the filled lookup changes. */
function useSuggestions(proxy: string | undefined, source: LabelValuesSource | undefined, values: Record<string, string>): Suggestions {
  const lookup = source && proxy ? JSON.stringify([proxy, source.labelName, source.matchers.map((m) => fillMatcher(m, values))]) : '';
  const [state, setState] = useState<Suggestions>({ options: [], loading: false });
  useEffect(() => {
    if (!lookup || !source || !proxy) {
      setState({ options: [], loading: false });
      return undefined;
    }
    const controller = new AbortController();
    setState((previous) => ({ options: previous.options, loading: true }));
    // A value typed letter by letter asks once, when typing pauses.
    const timer = setTimeout(() => {
      labelValues(proxy, source, values, controller.signal).then(
        (options) => setState({ options, loading: false }),
        (error: unknown) => {
          if (!controller.signal.aborted) setState({ options: [], loading: false, error: messageOf(error) });
        },
      );
    }, 300);
    return () => {
      clearTimeout(timer);
      controller.abort();
    };
    // `lookup` says everything the answer depends on.
  }, [lookup]);
  return state;
}

function VariableField({
  variable,
  label,
  source,
  proxy,
  values,
  onChange,
}: {
  variable: TemplateVariable;
  label: string;
  source: LabelValuesSource | undefined;
  proxy: string | undefined;
  values: Record<string, string>;
  onChange: (value: string) => void;
}) {
  const value = values[variable.name] ?? '';
  const suggestions = useSuggestions(proxy, source, values);
  const byDefault = variable.default === '$__all' ? 'All' : Array.isArray(variable.default) ? variable.default.join(', ') : variable.default;
  const found = suggestions.error
    ? `No suggestions (${suggestions.error}); type a value.`
    : source && !suggestions.loading
      ? suggestions.options.length === 0
        ? 'No values found for the choices above; type a value.'
        : `${suggestions.options.length} value${suggestions.options.length === 1 ? '' : 's'} found.`
      : '';
  return (
    <Autocomplete
      freeSolo
      options={suggestions.options}
      loading={suggestions.loading}
      value={value || null}
      inputValue={value}
      onInputChange={(_, next) => onChange(next)}
      onChange={(_, next) => onChange(next ?? '')}
      data-testid={`template-variable-${variable.name}`}
      renderInput={(params) => (
        <TextField
          {...params}
          label={label}
          required={variable.required}
          placeholder={byDefault ? `${byDefault} (default)` : undefined}
          helperText={[variable.description, byDefault ? `Empty: ${byDefault}.` : '', found].filter(Boolean).join(' ')}
          inputProps={{ ...params.inputProps, 'data-testid': `template-variable-input-${variable.name}` }}
          InputProps={{
            ...params.InputProps,
            endAdornment: (
              <>
                {suggestions.loading ? <CircularProgress color="inherit" size={16} aria-label="Looking up values" /> : null}
                {params.InputProps.endAdornment}
              </>
            ),
          }}
        />
      )}
    />
  );
}

/** What the server's refusal means here (409: the name is taken in that project). */
function refusal(error: unknown, project: string, name: string): unknown {
  if (error instanceof ApiError && error.status === 409) {
    return new Error(`Project “${project}” already has a dashboard named “${name}”: choose another name. (${error.message})`);
  }
  return error;
}

export default function TemplatePage() {
  const { id = '' } = useParams();
  const [params] = useSearchParams();
  const navigate = useNavigate();
  const { can } = useAccount();
  // A project template names its project (`from`); workload links pass values (`var-<name>`).
  const from = params.get('from') ?? undefined;
  const template = useLoad(() => getTemplate(id, from), `${from ?? ''}/${id}`);
  const projects = useLoad(listProjects, 'projects');
  const permitted = useMemo(
    () => (projects.data ?? []).map((p) => p.metadata.name).filter((p) => can('create', 'Dashboard', p)),
    [projects.data, can],
  );
  const [chosenProject, setProject] = useState<string>();
  const wanted = params.get('project');
  const project = chosenProject ?? (wanted && permitted.includes(wanted) ? wanted : permitted[0]) ?? '';
  const proxy = useLoad(() => (project ? defaultPrometheusProxy(project) : Promise.resolve(undefined)), project);
  const [values, setValues] = useState<Record<string, string>>(() => {
    const given: Record<string, string> = {};
    for (const [key, value] of params) if (key.startsWith('var-')) given[key.slice(4)] = value;
    return given;
  });
  const [typedName, setTypedName] = useState<string>();
  const [error, setError] = useState<unknown>();
  const [busy, setBusy] = useState(false);

  const loaded = template.data;
  const sources = useMemo(() => (loaded ? labelValuesSources(loaded.dashboard) : {}), [loaded]);
  const labels = useMemo(() => {
    const byName: Record<string, string> = {};
    for (const v of loaded?.dashboard.spec.variables ?? []) byName[v.spec.name] = v.spec.display?.name ?? v.spec.name;
    return byName;
  }, [loaded]);

  if (template.error) {
    return (
      <Page title={<Breadcrumbs items={[{ label: 'Templates', to: '/templates' }, { label: id }]} />}>
        <ErrorNotice error={template.error} title={`Cannot open template “${id}”`} onRetry={template.reload} />
      </Page>
    );
  }
  if (!loaded) return <PageLoading />;

  // Until the user types a name: the template's id and the workload chosen (its last required variable).
  const workload = [...loaded.variables].reverse().find((v) => v.required);
  const workloadValue = workload ? (values[workload.name] ?? '').trim() : '';
  const suggestedName = workloadValue ? `${loaded.id}-${workloadValue}`.slice(0, MAX_NAME) : loaded.id;
  const name = typedName ?? suggestedName;
  const nameProblem = name.trim().length === 0 || name.trim().length > MAX_NAME ? `1 to ${MAX_NAME} characters` : undefined;

  const submit = async () => {
    setBusy(true);
    setError(undefined);
    const chosen: Record<string, string> = {};
    for (const v of loaded.variables) {
      const value = (values[v.name] ?? '').trim();
      if (value !== '') chosen[v.name] = value;
    }
    try {
      const created = await createFromTemplate(project, loaded.id, name.trim(), chosen, from);
      navigate(dashboardUrl(project, created.metadata.name));
    } catch (e) {
      setError(refusal(e, project, name.trim()));
      setBusy(false);
    }
  };

  return (
    <Page title={<Breadcrumbs items={[{ label: 'Templates', to: '/templates' }, { label: loaded.title }]} />}>
      <Stack direction={{ xs: 'column', md: 'row' }} spacing={3} alignItems="flex-start">
        <Stack spacing={2} sx={{ flex: 1, minWidth: 0, maxWidth: 560 }} component="form" onSubmit={(e) => {
          e.preventDefault();
          void submit();
        }} data-testid="template-form">
          <Typography variant="body2" color="text.secondary">
            {loaded.description}
          </Typography>
          <ErrorNotice error={projects.error} onRetry={projects.reload} />
          {projects.data && permitted.length === 0 ? (
            <Alert severity="info">You may not create dashboards in any project; ask an administrator for a role that allows it.</Alert>
          ) : null}
          <TextField
            select
            label="Project"
            required
            value={permitted.includes(project) ? project : ''}
            onChange={(e) => setProject(e.target.value)}
            inputProps={{ 'data-testid': 'template-project' }}
            helperText="The projects you may create dashboards in"
          >
            {permitted.map((p) => (
              <MenuItem key={p} value={p}>
                {p}
              </MenuItem>
            ))}
          </TextField>
          <TextField
            label="Dashboard name"
            required
            value={name}
            onChange={(e) => setTypedName(e.target.value)}
            error={nameProblem !== undefined}
            helperText={nameProblem ?? 'Used in its address; a name with spaces becomes its title'}
            inputProps={{ 'data-testid': 'template-name', maxLength: MAX_NAME + 1 }}
          />
          {loaded.variables.map((variable) => (
            <VariableField
              key={variable.name}
              variable={variable}
              label={labels[variable.name] ?? variable.name}
              source={sources[variable.name]}
              proxy={proxy.data}
              values={values}
              onChange={(value) => setValues((all) => (all[variable.name] === value ? all : { ...all, [variable.name]: value }))}
            />
          ))}
          <ErrorNotice error={error} title="No dashboard was created" />
          <Box>
            <Button
              type="submit"
              variant="contained"
              disabled={busy || project === '' || nameProblem !== undefined}
              data-testid="template-create"
            >
              Create dashboard
            </Button>
            <Button component={RouterLink} to="/templates" sx={{ ml: 1 }}>
              Back to the templates
            </Button>
          </Box>
        </Stack>
        <Paper variant="outlined" sx={{ p: 2, width: { xs: '100%', md: 400 }, flexShrink: 0 }}>
          <Stack direction="row" spacing={1} alignItems="center" sx={{ mb: 1 }} flexWrap="wrap" useFlexGap>
            <CategoryChip category={loaded.category} />
            <SourceBadge source={loaded.source} project={loaded.project} />
            <Typography variant="caption" color="text.secondary">
              version {loaded.version}
            </Typography>
          </Stack>
          <Typography variant="body2" sx={{ mb: 1 }}>
            {loaded.workload_kinds.length > 0 ? `For ${loaded.workload_kinds.join(', ')}.` : 'Fleet-wide.'} {loaded.panels.length} panels:
          </Typography>
          <PanelPreview panels={loaded.panels} max={loaded.panels.length} />
        </Paper>
      </Stack>
    </Page>
  );
}
